// The kubelet's HTTPS API (exec, attach, port-forward, container logs): the Go program in e2e/kubelet-server, run
// inside the node's netns on <node IP>:10250, answering the apiserver only, and asking this kubelet what runs where
// over the runtime socket (runtime-socket.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeletError } from './errors.ts';
import { KUBELET_PORT } from './node-object.ts';
import { serveRuntimeSocket, type RuntimeSocket, type RuntimeView } from './runtime-socket.ts';
import { tool } from './tools.ts';

export interface KubeletServerOptions {
  /** The kubelet-server executable (`e2e/components/build.sh kubelet-server`). */
  readonly bin: string;
  /** Its serving certificate (for the node IP, signed by the CA the apiserver's --kubelet-certificate-authority names). */
  readonly certPem: string;
  readonly keyPem: string;
  /** The CA that signs the client certificates it accepts. */
  readonly clientCaPem: string;
  /** Common names of the client certificates let through: the apiserver's kubelet client. */
  readonly allowedClients: readonly string[];
  /** @default KUBELET_PORT (10250, the Node's daemonEndpoints.kubeletEndpoint) */
  readonly port?: number;
  /** @default 10_000 */
  readonly startTimeoutMs?: number;
}

/** Where the server's files live under `dir` (the kubelet's own directory). */
export function kubeletServerFiles(dir: string): {
  readonly cert: string;
  readonly key: string;
  readonly clientCa: string;
  readonly socket: string;
} {
  return {
    cert: join(dir, 'pki', 'kubelet.crt'),
    key: join(dir, 'pki', 'kubelet.key'),
    clientCa: join(dir, 'pki', 'client-ca.crt'),
    socket: join(dir, 'runtime.sock'),
  };
}

/** The command line (pure): `ip netns exec <node netns> <bin> --listen <ip>:<port> …`. */
export function kubeletServerArgv(
  o: KubeletServerOptions,
  node: { readonly netns: string; readonly ip: string },
  dir: string,
  ip: string = 'ip',
): { readonly file: string; readonly args: readonly string[] } {
  const f = kubeletServerFiles(dir);
  return {
    file: ip,
    args: [
      'netns',
      'exec',
      node.netns,
      o.bin,
      `--listen=${node.ip}:${o.port ?? KUBELET_PORT}`,
      `--tls-cert-file=${f.cert}`,
      `--tls-private-key-file=${f.key}`,
      `--client-ca-file=${f.clientCa}`,
      ...o.allowedClients.map((cn) => `--allowed-client=${cn}`),
      `--runtime-socket=${f.socket}`,
    ],
  };
}

export interface KubeletServer {
  readonly pid: number;
  /** SIGTERM (it kills what it exec'd), SIGKILL after 3 s; then the runtime socket goes. Idempotent. */
  stop(): Promise<void>;
}

export interface StartKubeletServerInput {
  readonly options: KubeletServerOptions;
  readonly node: { readonly netns: string; readonly ip: string };
  /** The kubelet's directory: `pki/` and `runtime.sock` go there. */
  readonly dir: string;
  readonly view: RuntimeView;
  readonly log: (line: string) => void;
}

const READY_PREFIX = 'serving on ';

/** Waits for the "serving on" line; false when stdout ends first. */
function servingLine(child: ChildProcess): Promise<boolean> {
  return new Promise((resolve) => {
    if (child.stdout === null) {
      resolve(false);
      return;
    }
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (l) => {
      if (l.startsWith(READY_PREFIX)) resolve(true);
    });
    lines.once('close', () => resolve(false));
  });
}

/**
 * Writes the certificates, serves the runtime socket, then starts the server in the node's netns and resolves once
 * it listens. Its log lines go to `log`. A failed start leaves nothing running.
 */
export async function startKubeletServer(i: StartKubeletServerInput): Promise<KubeletServer> {
  const f = kubeletServerFiles(i.dir);
  await mkdir(join(i.dir, 'pki'), { recursive: true, mode: 0o700 });
  await Promise.all([
    writeFile(f.cert, i.options.certPem, { mode: 0o644 }),
    writeFile(f.key, i.options.keyPem, { mode: 0o600 }),
    writeFile(f.clientCa, i.options.clientCaPem, { mode: 0o644 }),
  ]);
  const socket: RuntimeSocket = await serveRuntimeSocket(f.socket, i.view);
  const { file, args } = kubeletServerArgv(i.options, i.node, i.dir, tool('ip'));
  let child: ChildProcess;
  try {
    child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    await socket.close();
    throw new KubeletError('ERR_KUBELET_SERVER', `cannot start ${i.options.bin}`, { cause: err });
  }
  const tail: string[] = [];
  if (child.stderr !== null) {
    createInterface({ input: child.stderr }).on('line', (l) => {
      tail.push(l);
      if (tail.length > 20) tail.shift();
      i.log(l);
    });
  }
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      tail.push(err.message);
      resolve();
    });
  });
  const timeoutMs = i.options.startTimeoutMs ?? 10_000;
  const ready = await Promise.race([servingLine(child), sleep(timeoutMs, 'timeout' as const)]);
  if (ready !== true) {
    child.kill('SIGKILL');
    await exited;
    await socket.close();
    const why = ready === 'timeout' ? `not serving after ${timeoutMs} ms` : 'exited';
    throw new KubeletError(
      'ERR_KUBELET_SERVER',
      `kubelet server on ${i.node.ip} ${why}: ${tail.join('; ') || 'no message'}`,
    );
  }
  i.log(`kubelet server pid ${child.pid ?? '?'} serving on ${i.node.ip}:${i.options.port ?? KUBELET_PORT}`);
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid ?? -1,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const done = await Promise.race([exited.then(() => 'exited' as const), sleep(3_000)]);
          if (done !== 'exited') {
            child.kill('SIGKILL');
            await exited;
          }
        }
        if (child.stdout !== null && !child.stdout.destroyed) {
          child.stdout.destroy();
        }
        await socket.close();
      })()),
  };
}
