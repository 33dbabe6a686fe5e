// The kubelet's runtime socket: what the kubelet server (e2e/kubelet-server, Go) asks about the pods this kubelet
// runs, as a real kubelet asks its CRI runtime. JSON over HTTP/1.1 on a unix socket, read-only; the contract is
// written out in e2e/kubelet-server/runtime.go.
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { KubeletError } from './errors.ts';

/** A pod as the kubelet server needs it (port-forward). */
export interface RuntimePod {
  readonly uid: string;
  /** `/run/netns/<name>`: the pod's network namespace, the node's for hostNetwork; '' before the sandbox exists. */
  readonly netns: string;
}

/** A running container (exec): its main process, whose namespaces exec enters, and its environment. */
export interface RuntimeContainer {
  readonly id: string;
  readonly pid: number;
  /** `NAME=value`. */
  readonly env: readonly string[];
}

/** The run `kubectl logs` shows (see log-selection.ts) and its CRI log file. */
export interface RuntimeLog {
  readonly id: string;
  readonly path: string;
}

/** An answer, or the status and message the kubelet server passes on to the user. */
export type RuntimeAnswer<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly status: number; readonly message: string };

/** What the kubelet knows; PodManager implements it. */
export interface RuntimeView {
  pod(namespace: string, name: string): RuntimeAnswer<RuntimePod>;
  container(namespace: string, pod: string, container: string): RuntimeAnswer<RuntimeContainer>;
  log(namespace: string, pod: string, container: string, previous: boolean): RuntimeAnswer<RuntimeLog>;
  /** Whether the run with this containerID is running now. */
  running(containerID: string): boolean;
}

export interface RuntimeResponse {
  readonly status: number;
  readonly body: unknown;
}

function reply<T>(a: RuntimeAnswer<T>): RuntimeResponse {
  return a.ok ? { status: 200, body: a.value } : { status: a.status, body: { message: a.message } };
}

/** Routes one request (pure): `GET /v1/pods/{ns}/{name}[/containers/{c}[/log]]`, `GET /v1/containers/{id}`. */
export function answerRuntimeRequest(view: RuntimeView, method: string, url: string): RuntimeResponse {
  const parsed = new URL(url, 'http://kubelet');
  let parts: string[];
  try {
    parts = parsed.pathname
      .split('/')
      .slice(1)
      .map((p) => decodeURIComponent(p));
  } catch {
    return { status: 400, body: { message: `bad path ${parsed.pathname}` } };
  }
  if (method !== 'GET') return { status: 405, body: { message: `${method} not allowed` } };
  const [v1, kind, a = '', b = '', sub, c = '', leaf, ...rest] = parts;
  if (v1 === 'v1' && kind === 'containers' && parts.length === 3) {
    return { status: 200, body: { running: view.running(a) } };
  }
  if (v1 === 'v1' && kind === 'pods' && rest.length === 0 && a !== '' && b !== '') {
    if (sub === undefined) return reply(view.pod(a, b));
    if (sub === 'containers' && c !== '' && leaf === undefined) return reply(view.container(a, b, c));
    if (sub === 'containers' && c !== '' && leaf === 'log') {
      return reply(view.log(a, b, c, parsed.searchParams.get('previous') === 'true'));
    }
  }
  return { status: 404, body: { message: `no route for ${parsed.pathname}` } };
}

export interface RuntimeSocket {
  readonly path: string;
  /** Stops listening, ends open connections and removes the socket file. */
  close(): Promise<void>;
}

/** sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** Serves `view` on a unix socket at `path` (a stale file there is replaced), readable by root only. */
export async function serveRuntimeSocket(path: string, view: RuntimeView): Promise<RuntimeSocket> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new KubeletError(
      'ERR_KUBELET_SERVER',
      `runtime socket path too long for a unix socket (${Buffer.byteLength(path)} > ${MAX_SOCKET_PATH} bytes): ${path}`,
    );
  }
  await rm(path, { force: true });
  const server: Server = createServer((req, res) => {
    let out: RuntimeResponse;
    try {
      out = answerRuntimeRequest(view, req.method ?? 'GET', req.url ?? '/');
    } catch (err) {
      out = { status: 500, body: { message: err instanceof Error ? err.message : String(err) } };
    }
    res.writeHead(out.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(out.body));
  });
  server.listen({ path, readableAll: false, writableAll: false });
  await once(server, 'listening');
  let closing: Promise<void> | undefined;
  return {
    path,
    close: () =>
      (closing ??= (async () => {
        const closed = once(server, 'close');
        server.close();
        server.closeAllConnections();
        await closed;
        await rm(path, { force: true });
      })()),
  };
}
