// The probe client, run by the kubelet inside a node's netns: answers HTTP and TCP probe requests read from stdin.
// Its sockets are made here, so they live in this process's netns (the node's), bound to the probe source address.
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import {
  AGENT_READY_ID,
  MAX_PROBE_BODY,
  PROBE_USER_AGENT,
  type HttpProbeRequest,
  type ProbeAnswer,
  type ProbeRequest,
  type TcpProbeRequest,
} from './probe-protocol.ts';

function answer(a: ProbeAnswer): void {
  process.stdout.write(`${JSON.stringify(a)}\n`);
}

function probeHttp(r: HttpProbeRequest): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const headers: OutgoingHttpHeaders = {
      'User-Agent': PROBE_USER_AGENT,
      Accept: '*/*',
      Connection: 'close',
    };
    for (const [k, v] of r.headers) headers[k] = v;
    const send = r.scheme === 'https' ? httpsRequest : httpRequest;
    const req = send({
      host: r.host,
      port: r.port,
      path: r.path,
      method: 'GET',
      headers,
      localAddress: r.sourceAddress,
      agent: false,
      rejectUnauthorized: false, // kubelet does not verify probe certificates
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ id: r.id, ok: false, detail: `timeout after ${r.timeoutMs} ms` });
    }, r.timeoutMs);
    req.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ id: r.id, ok: false, detail: `${err.code ?? 'error'}: ${err.message}` });
    });
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      const localAddress = res.socket.localAddress;
      let read = 0;
      res.on('data', (b: Buffer) => {
        read += b.length;
        if (read > MAX_PROBE_BODY) res.destroy();
      });
      const finish = (): void => {
        clearTimeout(timer);
        resolve({
          id: r.id,
          ok: status >= 200 && status < 400,
          detail: `HTTP ${status}`,
          status,
          ...(localAddress === undefined ? {} : { localAddress }),
        });
      };
      res.once('end', finish);
      res.once('close', finish);
    });
    req.end();
  });
}

function probeTcp(r: TcpProbeRequest): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ host: r.host, port: r.port, localAddress: r.sourceAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ id: r.id, ok: false, detail: `timeout after ${r.timeoutMs} ms` });
    }, r.timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      const localAddress = socket.localAddress;
      socket.destroy();
      resolve({
        id: r.id,
        ok: true,
        detail: 'connected',
        ...(localAddress === undefined ? {} : { localAddress }),
      });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ id: r.id, ok: false, detail: `${err.code ?? 'error'}: ${err.message}` });
    });
  });
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  const req = JSON.parse(line) as ProbeRequest;
  void (req.kind === 'http' ? probeHttp(req) : probeTcp(req)).then(answer);
});
// The kubelet closing our stdin (or dying) ends the agent: it never outlives its owner.
lines.once('close', () => process.exit(0));
answer({ id: AGENT_READY_ID, ok: true, detail: 'ready' });
