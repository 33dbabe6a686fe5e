import { afterEach, describe, expect, it, vi } from 'vitest';
import { CertManager, type WorkloadCertificate } from './cert-manager.ts';

const ID = 'spiffe://cluster.local/ns/demo/sa/sleep';
function cert(n: number, from: number, to: number): WorkloadCertificate {
  return {
    identity: ID,
    chainPem: [`leaf-${n}`],
    keyPem: `key-${n}`,
    trustBundlePem: [],
    notBefore: new Date(from),
    notAfter: new Date(to),
  };
}

describe('CertManager', () => {
  afterEach(() => vi.useRealTimers());

  it('fetches once for concurrent callers and reuses the certificate', async () => {
    let calls = 0;
    const m = new CertManager({
      source: { fetch: () => Promise.resolve(cert(++calls, 0, Date.now() + 3_600_000)) },
    });
    const [a, b] = await Promise.all([m.get(ID), m.get(ID)]);
    expect(a).toBe(b);
    expect(await m.get(ID)).toBe(a);
    expect(calls).toBe(1);
    m.stop();
  });

  it('renews at half the lifetime, and keeps the old one while renewal fails', async () => {
    vi.useFakeTimers({ now: 0 });
    let calls = 0;
    const failures: string[] = [];
    const m = new CertManager({
      retryMs: 100,
      log: (l) => failures.push(l),
      source: {
        fetch: () => {
          calls++;
          if (calls === 2) return Promise.reject(new Error('CA unavailable'));
          return Promise.resolve(cert(calls, Date.now(), Date.now() + 1_000));
        },
      },
    });
    await m.get(ID);
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toBe(2);
    expect(m.peek(ID)?.chainPem).toEqual(['leaf-1']);
    expect(failures.join()).toContain('CA unavailable');
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(3);
    expect(m.peek(ID)?.chainPem).toEqual(['leaf-3']);
    m.stop();
  });

  it('fetches again once the held certificate expired', async () => {
    let now = 0;
    let calls = 0;
    const m = new CertManager({
      now: () => now,
      source: { fetch: () => Promise.resolve(cert(++calls, 0, 1_000)) },
    });
    await m.get(ID);
    now = 2_000;
    await m.get(ID);
    expect(calls).toBe(2);
    m.stop();
  });

  it('tells watchers of every new certificate, renewals included, until they unwatch', async () => {
    vi.useFakeTimers({ now: 0 });
    let calls = 0;
    const m = new CertManager({
      source: { fetch: () => Promise.resolve(cert(++calls, Date.now(), Date.now() + 1_000)) },
    });
    const seen: string[] = [];
    const unwatch = m.watch((c) => seen.push(c.chainPem[0] ?? ''));
    m.watch(() => {
      throw new Error('a broken watcher does not stop the others');
    });
    await m.get(ID);
    await m.get(ID);
    await vi.advanceTimersByTimeAsync(500);
    expect(seen).toEqual(['leaf-1', 'leaf-2']);
    unwatch();
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toBe(3);
    expect(seen).toEqual(['leaf-1', 'leaf-2']);
    m.stop();
  });
});
