// Two candidates for one Lease on the real apiserver: exactly one leads; when it stops, the other takes over.
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LeaderElector } from './leader-election.ts';

const kc = new KubeConfig();
kc.loadFromFile(inject('kubeconfigPath'));
const NS = 'lease-int';

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function candidate(identity: string, leaseDurationMs = 2_000) {
  const events: string[] = [];
  const e = new LeaderElector({
    kc,
    namespace: NS,
    name: 'ambit-operator',
    identity,
    leaseDurationMs,
    renewEveryMs: 300,
    renewDeadlineMs: 1_500,
    retryEveryMs: 200,
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
  });
  return { e, events };
}

describe('LeaderElector', { timeout: 30_000 }, () => {
  beforeAll(async () => {
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  });
  afterAll(async () => {
    await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: NS });
  });

  it('lets exactly one of two candidates lead, and hands over when the leader stops', async () => {
    const a = candidate('a');
    const b = candidate('b');
    a.e.start();
    b.e.start();
    await until(() => a.e.isLeader() || b.e.isLeader());
    // Several renew rounds later there is still exactly one leader.
    await new Promise((r) => setTimeout(r, 1_000));
    expect([a.e.isLeader(), b.e.isLeader()].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = a.e.isLeader() ? [a, b] : [b, a];
    expect(follower.events).toEqual([]);

    await leader.e.stop();
    expect(leader.events).toEqual(['started', 'stopped']);
    await until(() => follower.e.isLeader(), 5_000);
    const lease = await kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: 'ambit-operator', namespace: NS });
    expect(lease.spec?.holderIdentity).toBe(follower === a ? 'a' : 'b');
    expect(lease.spec?.leaseTransitions).toBeGreaterThanOrEqual(1);
    await follower.e.stop();
  });

  it('takes over a lease whose holder vanished without releasing it, after the lease duration', async () => {
    await kc.makeApiClient(CoordinationV1Api).replaceNamespacedLease({
      name: 'ambit-operator',
      namespace: NS,
      body: {
        ...(await kc
          .makeApiClient(CoordinationV1Api)
          .readNamespacedLease({ name: 'ambit-operator', namespace: NS })),
        spec: { holderIdentity: 'crashed', leaseDurationSeconds: 2 },
      },
    });
    const c = candidate('c');
    const started = Date.now();
    c.e.start();
    await new Promise((r) => setTimeout(r, 1_000));
    expect(c.e.isLeader()).toBe(false);
    await until(() => c.e.isLeader(), 6_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    await c.e.stop();
  });
});
