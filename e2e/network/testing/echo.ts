// Test helper: starts echo-server.ts inside a node netns (or runs echo-client.ts there) with the repo's pinned node.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BoxNetwork } from '../network.ts';

/** The repo's pinned Node binary (package.json devDependency `node`). */
export const NODE_BIN = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));
const SERVER = fileURLToPath(new URL('./echo-server.ts', import.meta.url));
const CLIENT = fileURLToPath(new URL('./echo-client.ts', import.meta.url));

export interface EchoServer {
  /** Source addresses of the connections accepted so far (reported asynchronously: poll it). */
  readonly peers: string[];
  stop(): void;
}

export interface EchoResult {
  readonly sent: number;
  readonly received: number;
  readonly same: boolean;
  readonly local: string;
}

function nodeBin(): string {
  if (!existsSync(NODE_BIN)) throw new Error(`pinned node binary not found at ${NODE_BIN} (run npm ci)`);
  return NODE_BIN;
}

/** Starts an echo server in `node`'s netns on `ip:port`; resolves once it listens (or rejects within 10 s). */
export function startEchoServer(
  net: BoxNetwork,
  node: string,
  ip: string,
  port: number,
): Promise<EchoServer> {
  const argv = net.argvIn(node, [nodeBin(), SERVER, ip, String(port)]);
  const child: ChildProcess = spawn(argv[0] ?? 'ip', argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const peers: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`echo server in ${node} did not listen within 10 s: ${stderr}`));
    }, 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`echo server in ${node} exited ${code}: ${stderr}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line === 'listening') {
          clearTimeout(timer);
          resolve({ peers, stop: () => child.kill('SIGTERM') });
        } else if (line.startsWith('peer ')) {
          peers.push(line.slice('peer '.length));
        }
      }
    });
  });
}

/** Runs the echo client in `node`'s netns against `ip:port` with `bytes` random bytes. */
export async function runEchoClient(net: BoxNetwork, node: string, ip: string, port: number, bytes: number) {
  const { stdout } = await net.exec(node, [nodeBin(), CLIENT, ip, String(port), String(bytes)]);
  return JSON.parse(stdout) as EchoResult;
}

/** Runs the echo exchange from this (host) process against `ip:port`. */
export function echoFromHost(ip: string, port: number, bytes: number): Promise<EchoResult> {
  const payload = randomBytes(bytes);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: ip, port, timeout: 10_000 }, () => socket.end(payload));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('timeout', () => socket.destroy(new Error(`no answer from ${ip}:${port} within 10 s`)));
    socket.on('error', reject);
    socket.on('end', () => {
      const received = Buffer.concat(chunks);
      resolve({
        sent: payload.length,
        received: received.length,
        same: received.equals(payload),
        local: socket.localAddress ?? '?',
      });
    });
  });
}
