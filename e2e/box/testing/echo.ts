// Test helper: e2e/network's echo server and client (run with the pinned node) inside any netns, e.g. a stand-in pod.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { run } from '../../network/run.ts';
import { NODE_BIN, type EchoResult } from '../../network/testing/echo.ts';

const SERVER = fileURLToPath(new URL('../../network/testing/echo-server.ts', import.meta.url));
const CLIENT = fileURLToPath(new URL('../../network/testing/echo-client.ts', import.meta.url));

export interface Echo {
  /** Source addresses of the connections accepted so far (reported asynchronously: poll it). */
  readonly peers: string[];
  readonly pid: number;
  stop(): void;
}

/** Starts an echo server in `netns` on `ip:port` that exits by itself after `lifetimeMs`; resolves once it listens. */
export function startEcho(netns: string, ip: string, port: number, lifetimeMs = 120_000): Promise<Echo> {
  const child = spawn(
    'ip',
    ['netns', 'exec', netns, NODE_BIN, SERVER, ip, String(port), String(lifetimeMs)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const peers: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`echo server in ${netns} did not listen within 10 s: ${stderr}`));
    }, 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`echo server in ${netns} exited ${code}: ${stderr}`));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line === 'listening') {
          clearTimeout(timer);
          resolve({ peers, pid: child.pid ?? -1, stop: () => child.kill('SIGTERM') });
        } else if (line.startsWith('peer ')) {
          peers.push(line.slice('peer '.length));
        }
      }
    });
  });
}

/** Sends `bytes` random bytes from inside `netns` to `ip:port` and reports what came back. */
export async function echoFrom(netns: string, ip: string, port: number, bytes = 4096): Promise<EchoResult> {
  const { stdout } = await run(
    ['ip', 'netns', 'exec', netns, NODE_BIN, CLIENT, ip, String(port), String(bytes)],
    {
      timeoutMs: 15_000,
    },
  );
  return JSON.parse(stdout) as EchoResult;
}
