// gRPC through the waypoint (issue 6 acceptance): a @grpc/grpc-js client, whose connection a local forwarder wraps
// into HBONE towards the waypoint, calls a @grpc/grpc-js server behind a fake destination ztunnel. Unary and
// server-streaming calls, with trailing metadata and non-OK statuses intact.
import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServiceDefinition,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../testing/harness.ts';
import { service, state, workload } from '../testing/records.ts';

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const definition: ServiceDefinition = {
  unary: {
    path: '/test.Echo/Unary',
    requestStream: false,
    responseStream: false,
    requestSerialize: raw.serialize,
    requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize,
    responseDeserialize: raw.deserialize,
  },
  stream: {
    path: '/test.Echo/Stream',
    requestStream: false,
    responseStream: true,
    requestSerialize: raw.serialize,
    requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize,
    responseDeserialize: raw.deserialize,
  },
};

interface EchoClient {
  unary(req: Buffer, cb: (err: ServiceError | null, res?: Buffer) => void): NodeJS.EventEmitter;
  stream(req: Buffer): NodeJS.ReadableStream & NodeJS.EventEmitter;
  close(): void;
}

const GRPC_VIP = '10.96.0.70:9090';
let h: Harness;
let server: Server;
let client: EchoClient;
let forwarder: { port: number; close(): Promise<void> };

beforeAll(async () => {
  h = await startHarness();
  server = new Server();
  server.addService(definition, {
    unary: (
      call: { request: Buffer },
      cb: (err: Partial<StatusObject> | null, value?: Buffer, trailer?: Metadata) => void,
    ) => {
      const trailer = new Metadata();
      trailer.set('x-trailer', 'unary');
      if (call.request.toString() === 'missing') {
        return cb({ code: status.NOT_FOUND, details: 'no such thing', metadata: trailer });
      }
      cb(null, Buffer.from(`pong:${call.request.toString()}`), trailer);
    },
    stream: (call: { request: Buffer; write(b: Buffer): boolean; end(md?: Metadata): void }) => {
      for (let i = 0; i < 5; i++) call.write(Buffer.from(`${call.request.toString()}-${i}`));
      const trailer = new Metadata();
      trailer.set('x-trailer', 'stream');
      call.end(trailer);
    },
  });
  const ip = '127.0.0.71';
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${ip}:0`, ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  await h.endpoint(ip, 'echo', 'grpc');
  // Its own namespace, out of reach of the default namespace's ALLOW policies.
  h.update(
    state({
      workloads: [workload('echo', ip, { namespace: 'grpc' })],
      services: [
        service(
          'echo',
          '10.96.0.70',
          9090,
          { 'uid-echo': port },
          {
            namespace: 'grpc',
            ports: [{ name: 'grpc', port: 9090, protocol: 'TCP', appProtocol: 'grpc' }],
          },
        ),
      ],
    }),
  );
  const caller = await h.caller('sleep');
  forwarder = await caller.forwarder(GRPC_VIP);
  const Client = makeGenericClientConstructor(definition, 'Echo');
  client = new Client(`127.0.0.1:${forwarder.port}`, credentials.createInsecure()) as unknown as EchoClient;
}, 30_000);

afterAll(async () => {
  client.close();
  server.forceShutdown();
  await forwarder.close();
  await h.close();
});

function unary(req: string): Promise<{ err: ServiceError | null; res?: Buffer; status: StatusObject }> {
  return new Promise((resolve) => {
    let result: { err: ServiceError | null; res?: Buffer } | undefined;
    let st: StatusObject | undefined;
    const done = () => result && st && resolve({ ...result, status: st });
    const call = client.unary(Buffer.from(req), (err, res) => {
      result = { err, ...(res ? { res } : {}) };
      done();
    });
    call.on('status', (s: StatusObject) => {
      st = s;
      done();
    });
  });
}

describe('gRPC through the waypoint', () => {
  it('carries a unary call with its trailers', async () => {
    const r = await unary('ping');
    expect(r.err).toBeNull();
    expect(r.res?.toString()).toBe('pong:ping');
    expect(r.status.code).toBe(status.OK);
    expect(r.status.metadata.get('x-trailer')).toEqual(['unary']);
  });

  it('carries a non-OK status and its details in the trailers', async () => {
    const r = await unary('missing');
    expect(r.err?.code).toBe(status.NOT_FOUND);
    expect(r.err?.details).toBe('no such thing');
    expect(r.status.metadata.get('x-trailer')).toEqual(['unary']);
  });

  it('carries a server-streaming call with its trailers', async () => {
    const call = client.stream(Buffer.from('item'));
    const items: string[] = [];
    const st = new Promise<StatusObject>((resolve) => call.on('status', resolve));
    for await (const chunk of call) items.push((chunk as Buffer).toString());
    const s = await st;
    expect(items).toEqual(['item-0', 'item-1', 'item-2', 'item-3', 'item-4']);
    expect(s.code).toBe(status.OK);
    expect(s.metadata.get('x-trailer')).toEqual(['stream']);
  });

  it('reports request_protocol grpc', async () => {
    expect(await h.metrics.text()).toMatch(
      /istio_requests_total\{[^}]*request_protocol="grpc"[^}]*response_code="200"/,
    );
  });
});
