// Unit tests: the informer against a scripted fake apiserver: list errors, closed watches and watch errors.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type KubernetesListObject, type V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startInformer, type Informer } from './informer.ts';

const pod = (name: string, rv: string): V1Pod => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

async function fakeApiserver(handler: Handler): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => handler(req, res, new URL(req.url ?? '/', 'http://x')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function kubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

describe('startInformer', () => {
  let informer: Informer<V1Pod> | undefined;
  let close: (() => Promise<void>) | undefined;

  afterEach(async () => {
    await informer?.stop();
    await close?.();
  });

  it('survives a failed list, a closed watch and a failed watch, resuming from the last resourceVersion', async () => {
    let lists = 0;
    const watches: URL[] = [];
    const api = await fakeApiserver((_req, res, url) => {
      if (url.searchParams.get('watch') !== 'true') {
        res.writeHead(500).end('{"kind":"Status","message":"etcd is sad"}');
        return;
      }
      watches.push(url);
      if (watches.length === 1) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ADDED', object: pod('b', '2') })}\n`);
      } else if (watches.length === 2) {
        res.writeHead(500).end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(`${JSON.stringify({ type: 'MODIFIED', object: pod('a', '3') })}\n`);
      }
    });
    close = api.close;
    const seen: string[] = [];
    const logs: string[] = [];
    informer = startInformer<V1Pod>({
      kubeConfig: kubeConfig(api.url),
      path: '/api/v1/pods',
      fieldSelector: 'spec.nodeName=n1',
      list: (): Promise<KubernetesListObject<V1Pod>> => {
        lists++;
        if (lists === 1) return Promise.reject(new Error('list refused'));
        return Promise.resolve({ metadata: { resourceVersion: '1' }, items: [pod('a', '1')] });
      },
      onChange: (p) => seen.push(`${p.metadata?.name ?? ''}@${p.metadata?.resourceVersion ?? ''}`),
      log: (l) => logs.push(l),
      backoff: { initialMs: 10, maxMs: 100, resetAfterMs: 1_000 },
    });
    await informer.synced;
    await vi.waitFor(() => expect(seen).toEqual(['a@1', 'b@2', 'a@3']), { timeout: 5_000 });
    expect(lists).toBe(2);
    expect(watches.map((u) => u.searchParams.get('resourceVersion'))).toEqual(['1', '2', '2']);
    expect(watches.every((u) => u.searchParams.get('fieldSelector') === 'spec.nodeName=n1')).toBe(true);
    expect(logs.filter((l) => l.includes('restarting'))).toHaveLength(2);
    expect(informer.get('a', 'ns')?.metadata?.resourceVersion).toBe('3');
    expect(informer.list()).toHaveLength(2);
  });

  it('stops retrying once stopped', async () => {
    let lists = 0;
    informer = startInformer<V1Pod>({
      kubeConfig: kubeConfig('http://127.0.0.1:1'),
      path: '/api/v1/pods',
      list: () => {
        lists++;
        return Promise.reject(new Error('down'));
      },
      onChange: () => undefined,
      log: () => undefined,
      backoff: { initialMs: 5, maxMs: 5, resetAfterMs: 1_000 },
    });
    await vi.waitFor(() => expect(lists).toBeGreaterThanOrEqual(2));
    await informer.stop();
    const after = lists;
    await new Promise((r) => setTimeout(r, 50));
    expect(lists).toBe(after);
  });
});
