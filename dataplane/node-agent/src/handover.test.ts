// The handover protocol over a real unix socket in a temp dir: snapshot on (re)connect, add/del acks, NACKs.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  HandoverClient,
  HandoverServer,
  LineSplitter,
  SnapshotTracker,
  parseAck,
  parseWireMessage,
  type HandoverMessage,
  type PodNetns,
} from './handover.ts';

const podA: PodNetns = {
  uid: 'uid-a',
  namespace: 'ns',
  name: 'a',
  netns: '/var/run/netns/kpod-a',
  ips: ['10.0.0.1'],
};
const podB: PodNetns = {
  uid: 'uid-b',
  namespace: 'ns',
  name: 'b',
  netns: '/var/run/netns/kpod-b',
  ips: ['10.0.0.2'],
};

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('wire parsing', () => {
  it('parses every message type and ignores unknown fields', () => {
    expect(parseWireMessage(JSON.stringify({ seq: 1, type: 'add', ...podA, extra: true }))).toEqual({
      seq: 1,
      type: 'add',
      ...podA,
    });
    expect(parseWireMessage('{"seq":2,"type":"snapshot-sent"}')).toEqual({ seq: 2, type: 'snapshot-sent' });
    expect(parseWireMessage('{"seq":3,"type":"del","uid":"u"}')).toEqual({ seq: 3, type: 'del', uid: 'u' });
    expect(parseAck('{"ack":4,"error":"boom"}')).toEqual({ ack: 4, error: 'boom' });
  });

  it('rejects malformed lines with ERR_HANDOVER_PROTOCOL', () => {
    for (const line of [
      'nope',
      '[]',
      '{"type":"add"}',
      '{"seq":1,"type":"bogus"}',
      '{"seq":1,"type":"del"}',
    ]) {
      expect(() => parseWireMessage(line)).toThrow(
        expect.objectContaining({ code: 'ERR_HANDOVER_PROTOCOL' }),
      );
    }
    expect(() => parseAck('{"ack":-1}')).toThrow(expect.objectContaining({ code: 'ERR_HANDOVER_PROTOCOL' }));
  });

  it('splits lines across chunks and refuses a runaway line', () => {
    const s = new LineSplitter();
    expect(s.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(s.push(':2}\n')).toEqual(['{"b":2}']);
    expect(() => s.push('x'.repeat(70_000))).toThrow(
      expect.objectContaining({ code: 'ERR_HANDOVER_PROTOCOL' }),
    );
  });

  it('SnapshotTracker drops what a snapshot did not keep', () => {
    const t = new SnapshotTracker();
    t.seen('a');
    t.seen('b');
    t.connected();
    t.seen('a');
    expect(t.snapshotSent()).toEqual(['b']);
    expect(t.held()).toEqual(['a']);
  });
});

describe('HandoverServer and HandoverClient', () => {
  let dir: string;
  let server: HandoverServer;
  let client: HandoverClient | undefined;
  const got: HandoverMessage[] = [];
  let fail: string | undefined;

  const startClient = (): HandoverClient => {
    const c = new HandoverClient({
      path: join(dir, 'ztunnel.sock'),
      retry: { initialMs: 10, maxMs: 50 },
      handler: (msg) => {
        got.push(msg);
        return fail === undefined ? Promise.resolve() : Promise.reject(new Error(fail));
      },
    });
    c.start();
    return c;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ambit-handover-'));
    server = new HandoverServer({ path: join(dir, 'ztunnel.sock'), ackTimeoutMs: 2000 });
    got.length = 0;
    fail = undefined;
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the set while no ztunnel is connected and sends it as a snapshot on connect', async () => {
    await server.listen();
    expect((await stat(join(dir, 'ztunnel.sock'))).mode & 0o777).toBe(0o600);
    expect(await server.add(podA)).toBe('pending');
    expect(await server.add(podB)).toBe('pending');
    expect(await server.del(podB.uid)).toBe('pending');
    client = startClient();
    await server.whenSynced();
    expect(got).toEqual([{ type: 'keep', ...podA }, { type: 'snapshot-sent' }]);
  });

  it('delivers add and del with acks, and turns a handler rejection into a NACK', async () => {
    await server.listen();
    client = startClient();
    await server.whenSynced();
    expect(await server.add(podA)).toBe('acked');
    expect(await server.del(podA.uid)).toBe('acked');
    fail = 'cannot open netns';
    await expect(server.add(podB)).rejects.toMatchObject({
      code: 'ERR_HANDOVER_REJECTED',
      message: expect.stringContaining('cannot open netns') as string,
    });
    // A NACKed pod stays desired: the caller retries or deletes it.
    expect(server.pods().map((p) => p.uid)).toEqual([podB.uid]);
    expect(got.map((m) => m.type)).toEqual(['snapshot-sent', 'add', 'del', 'add']);
  });

  it('re-sends the snapshot after the ztunnel reconnects, and after the agent restarts', async () => {
    await server.listen();
    client = startClient();
    await server.whenSynced();
    await server.add(podA);
    await client.close();
    await until(() => !server.connected);
    got.length = 0;
    client = startClient();
    await server.whenSynced();
    expect(got).toEqual([{ type: 'keep', ...podA }, { type: 'snapshot-sent' }]);

    // The agent restarts with a fresh set: the client reconnects by itself and gets the new snapshot.
    await server.close();
    got.length = 0;
    server = new HandoverServer({ path: join(dir, 'ztunnel.sock') });
    await server.add(podB);
    await server.listen();
    await server.whenSynced();
    expect(got).toEqual([{ type: 'keep', ...podB }, { type: 'snapshot-sent' }]);
  });

  it('times out a silent ztunnel and drops its connection', async () => {
    server = new HandoverServer({ path: join(dir, 'ztunnel.sock'), ackTimeoutMs: 100 });
    await server.listen();
    let release = (): void => undefined;
    client = new HandoverClient({
      path: join(dir, 'ztunnel.sock'),
      retry: { initialMs: 1000 },
      handler: (msg) => (msg.type === 'add' ? new Promise<void>((r) => (release = r)) : Promise.resolve()),
    });
    client.start();
    await server.whenSynced();
    await expect(server.add(podA)).rejects.toMatchObject({ code: 'ERR_HANDOVER_TIMEOUT' });
    expect(server.connected).toBe(false);
    release();
  });
});
