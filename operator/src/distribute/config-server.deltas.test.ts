// The deltas the config server sends, checked against a proxy that applies them: after any sequence of changes,
// ACKs, late ACKs and NACKs, each proxy holds exactly its scope of the latest config. This is what lets the server
// compute a ztunnel's delta from the change journal instead of comparing all records (change-journal.ts).
import * as pb from '@ambit/codegen/proto';
import {
  authorizationToProto,
  serviceToProto,
  workloadToProto,
  type Authorization,
  type Service,
} from '@ambit/config';
import { policy, service, workload } from '@ambit/config/testing';
import { describe, expect, it } from 'vitest';
import { ConfigServer, type Subscriber } from './config-server.ts';
import { waypointScope, ztunnelScope, type FullConfig, type ProxyConfig } from './scope.ts';
import { MemoryStream } from './testing/memory-stream.ts';

function rng(seed: number) {
  let s = seed >>> 0;
  return (max: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % max;
  };
}

const NODES = ['n0', 'n1', 'n2'];
const WAYPOINT = { namespace: 'default', name: 'wp' };

/** A proxy's records as the pushes leave them. */
class AppliedState {
  readonly workloads = new Map<string, pb.Workload>();
  readonly services = new Map<string, pb.Service>();
  readonly authorizations = new Map<string, pb.Authorization>();
  apply(p: pb.SubscribeResponse): void {
    if (p.full) {
      this.workloads.clear();
      this.services.clear();
      this.authorizations.clear();
    }
    for (const w of p.workloads) this.workloads.set(w.uid, w);
    for (const s of p.services) this.services.set(s.id, s);
    for (const a of p.authorizations) this.authorizations.set(a.id, a);
    for (const id of p.removedWorkloads) this.workloads.delete(id);
    for (const id of p.removedServices) this.services.delete(id);
    for (const id of p.removedAuthorizations) this.authorizations.delete(id);
  }
}

const asProto = (c: ProxyConfig) => ({
  workloads: new Map([...c.workloads].map(([id, w]) => [id, workloadToProto(w)])),
  services: new Map([...c.services].map(([id, s]) => [id, serviceToProto(s)])),
  authorizations: new Map([...c.authorizations].map(([id, a]) => [id, authorizationToProto(a)])),
});

/** One random change to a config: records replaced (new objects) or removed, as a translation would. */
function mutate(c: FullConfig, next: (n: number) => number, step: number): FullConfig {
  const workloads = new Map(c.workloads);
  const services = new Map(c.services);
  const authorizations = new Map(c.authorizations);
  for (let k = next(3); k >= 0; k--) {
    const roll = next(10);
    const i = next(30);
    if (roll < 5) {
      const w = workload(`w${i}`, {
        node: NODES[next(NODES.length)]!,
        namespace: `ns${next(3)}`,
        ready: next(2) === 0,
        authorizationPolicies: next(3) === 0 ? [`ns${next(3)}/sel${next(3)}`] : [],
        ...(next(4) === 0 ? { waypoint: WAYPOINT } : {}),
      });
      workloads.set(w.uid, w);
    } else if (roll < 7) {
      workloads.delete(`uid-w${i}`);
    } else if (roll < 9) {
      const s: Service = service(`s${i % 8}`, {
        endpoints: [{ workloadUid: `uid-w${next(30)}`, ports: { 80: 8080 }, ready: next(2) === 0 }],
        ...(next(2) === 0 ? { waypoint: WAYPOINT } : {}),
        vips: [`10.96.0.${step % 250}`],
      });
      services.set(s.id, s);
    } else {
      const scope = (['Global', 'Namespace', 'WorkloadSelector'] as const)[next(3)]!;
      const id =
        scope === 'Global'
          ? 'istio-system/all'
          : `ns${next(3)}/${scope === 'Namespace' ? 'ns' : `sel${next(3)}`}`;
      const a: Authorization = policy(
        id,
        next(2) ? 'Allow' : 'Deny',
        [{ destinationPorts: [step % 1000] }],
        scope,
      );
      if (next(3) === 0) authorizations.delete(id);
      else authorizations.set(id, a);
    }
  }
  return { workloads, services, authorizations };
}

describe('config server deltas', () => {
  it('leaves every proxy holding exactly its scope after 400 random changes with late ACKs and NACKs', async () => {
    const next = rng(42);
    const scopeOf = (s: Subscriber, c: FullConfig) =>
      s.kind === 'ztunnel' ? ztunnelScope(c, s.name) : waypointScope(c, WAYPOINT);
    const server = new ConfigServer({
      admit: (token) =>
        Promise.resolve(
          token === 'wp' ? { kind: 'waypoint', name: 'default/wp' } : { kind: 'ztunnel', name: token ?? '' },
        ),
      scope: scopeOf,
    });
    const proxies = [...NODES, 'wp'].map((name) => {
      const stream = new MemoryStream(name);
      const state = new AppliedState();
      const pending: pb.SubscribeResponse[] = [];
      stream.onWrite = (p) => pending.push(p);
      server.subscribe(stream.asServerStream());
      stream.send({
        request: {
          $case: 'hello',
          value: {
            kind: pb.ProxyKind.PROXY_KIND_ZTUNNEL,
            node: name,
            waypoint: '',
            gateway: '',
            protocolVersion: 1,
          },
        },
      });
      const subscriber: Subscriber =
        name === 'wp' ? { kind: 'waypoint', name: 'default/wp' } : { kind: 'ztunnel', name };
      return { name, stream, state, pending, subscriber };
    });
    await new Promise((r) => setImmediate(r)); // admission is asynchronous

    /** The proxy answers its oldest push: mostly ACK, sometimes NACK one record (kept as it was). */
    const answer = (p: (typeof proxies)[number], nack: boolean) => {
      const push = p.pending.shift();
      if (!push) return;
      const victim = push.workloads[0];
      if (nack && victim && !push.full) {
        const kept = p.state.workloads.get(victim.uid);
        p.state.apply(push);
        if (kept) p.state.workloads.set(victim.uid, kept);
        else p.state.workloads.delete(victim.uid);
        p.stream.send({
          request: {
            $case: 'nack',
            value: {
              version: push.version,
              message: 'rejected',
              rejected: [{ kind: 'Workload', id: victim.uid, reason: 'test' }],
            },
          },
        });
      } else {
        p.state.apply(push);
        p.stream.send({ request: { $case: 'ack', value: { version: push.version } } });
      }
    };

    let config: FullConfig = { workloads: new Map(), services: new Map(), authorizations: new Map() };
    server.update(config);
    for (let step = 0; step < 400; step++) {
      config = mutate(config, next, step);
      server.update(config);
      // n0 answers at once, n1 only every fifth step (several versions pile up), n2 and the waypoint NACK now
      // and then.
      for (const p of proxies) {
        if (p.name === 'n1' && step % 5 !== 0) continue;
        answer(p, p.name !== 'n0' && next(8) === 0);
      }
    }
    // Settle: a final change everyone ACKs, so rejected records are sent again and taken.
    config = mutate(config, next, 400);
    server.update(config);
    for (let round = 0; round < 5; round++) for (const p of proxies) answer(p, false);

    const sent = proxies.reduce((n, p) => n + p.stream.written.length, 0);
    expect(sent).toBeGreaterThan(400);
    // Counted for /metrics: one snapshot each, then deltas; every answer is an ACK or a NACK.
    const stats = server.stats;
    expect(stats.subscribers).toBe(4);
    expect(stats.pushes.full).toBe(4);
    expect(stats.pushes.full + stats.pushes.delta).toBe(sent);
    expect(stats.nacks).toBeGreaterThan(0);
    expect(proxies.every((p) => p.pending.length === 0)).toBe(true);
    expect(stats.acks + stats.nacks).toBe(sent);
    for (const p of proxies) {
      const want = asProto(scopeOf(p.subscriber, config));
      const held = {
        workloads: p.state.workloads,
        services: p.state.services,
        authorizations: p.state.authorizations,
      };
      expect({ name: p.name, ...held }).toEqual({ name: p.name, ...want });
    }
  });
});
