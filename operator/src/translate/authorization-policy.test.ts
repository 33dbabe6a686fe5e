// Behaviour of AuthorizationPolicy at ztunnel: Istio YAML in, decisions on connections out (DESIGN §7, §8).
import { authorize, type Authorization, type ConnectionFacts } from '@ambit/config';
import type { AuthorizationPolicy } from '@ambit/codegen/crds';
import { describe, expect, it } from 'vitest';
import { translateAuthorizationPolicy, type AuthorizationTranslation } from './authorization-policy.ts';

const ctx = { rootNamespace: 'istio-system' };
type Spec = NonNullable<AuthorizationPolicy['spec']>;

function policy(
  spec: Spec,
  opts: { name?: string; namespace?: string; annotations?: Record<string, string> } = {},
) {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: {
      name: opts.name ?? 'p',
      namespace: opts.namespace ?? 'default',
      annotations: opts.annotations,
    },
    spec,
  } satisfies AuthorizationPolicy;
}

function record(t: AuthorizationTranslation): Authorization {
  if (t.kind !== 'ztunnel') throw new Error(`expected a ztunnel record, got ${t.kind}`);
  return t.record;
}

const sleep = { principal: 'cluster.local/ns/default/sa/sleep', namespace: 'default' };
const notsleep = { principal: 'cluster.local/ns/default/sa/notsleep', namespace: 'default' };
const foreign = { principal: 'cluster.local/ns/foo/sa/app', namespace: 'foo' };

function conn(peer: ConnectionFacts['peer'], port = 9080, sourceIp = '10.244.1.5'): ConnectionFacts {
  return { sourceIp, destinationIp: '10.244.2.7', destinationPort: port, peer };
}

/** Translates every policy and returns the verdict for each connection: 'allow' or 'deny'. */
function verdicts(specs: Spec[], conns: ConnectionFacts[]): string[] {
  const records = specs.map((s, i) =>
    record(translateAuthorizationPolicy(policy(s, { name: `p${i}` }), ctx)),
  );
  return conns.map((c) => (authorize(records, c).allowed ? 'allow' : 'deny'));
}

const allowSleep: Spec = {
  action: 'ALLOW',
  rules: [{ from: [{ source: { principals: [sleep.principal] } }] }],
};

describe('AuthorizationPolicy at ztunnel: decisions', () => {
  it.each<[string, Spec[], ConnectionFacts[], string[]]>([
    ['no policy allows everything', [], [conn(sleep), conn(undefined)], ['allow', 'allow']],
    [
      'ALLOW a principal admits it only',
      [allowSleep],
      [conn(sleep), conn(notsleep), conn(undefined)],
      ['allow', 'deny', 'deny'],
    ],
    [
      'a principal written with spiffe:// never matches',
      [{ rules: [{ from: [{ source: { principals: [`spiffe://${sleep.principal}`] } }] }] }],
      [conn(sleep)],
      ['deny'],
    ],
    [
      'an ALLOW without rules allows nothing',
      [{ action: 'ALLOW' }],
      [conn(sleep), conn(undefined)],
      ['deny', 'deny'],
    ],
    [
      'an ALLOW with one empty rule allows everything',
      [{ rules: [{}] }],
      [conn(sleep), conn(undefined)],
      ['allow', 'allow'],
    ],
    ['a DENY without rules denies nothing', [{ action: 'DENY' }], [conn(sleep)], ['allow']],
    [
      'DENY on namespaces misses a plaintext caller',
      [{ action: 'DENY', rules: [{ from: [{ source: { namespaces: ['foo'] } }] }] }],
      [conn(foreign), conn(sleep), conn(undefined)],
      ['deny', 'allow', 'allow'],
    ],
    [
      'ALLOW notNamespaces matches a plaintext caller',
      [{ rules: [{ from: [{ source: { notNamespaces: ['foo'] } }] }] }],
      [conn(undefined), conn(foreign), conn(sleep)],
      ['allow', 'deny', 'allow'],
    ],
    [
      'ALLOW notPrincipals matches a plaintext caller',
      [{ rules: [{ from: [{ source: { notPrincipals: [sleep.principal] } }] }] }],
      [conn(undefined), conn(sleep)],
      ['allow', 'deny'],
    ],
    [
      "principals ['*'] means any authenticated caller",
      [{ rules: [{ from: [{ source: { principals: ['*'] } }] }] }],
      [conn(sleep), conn(undefined)],
      ['allow', 'deny'],
    ],
    [
      'principal prefix and suffix patterns',
      [{ rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/*', '*/sa/notsleep'] } }] }] }],
      [conn(foreign), conn(notsleep), conn(sleep)],
      ['allow', 'allow', 'deny'],
    ],
    [
      'DENY by port denies that pod port only',
      [{ action: 'DENY', rules: [{ to: [{ operation: { ports: ['8080'] } }] }] }],
      [conn(sleep, 8080), conn(sleep, 9080)],
      ['deny', 'allow'],
    ],
    [
      'ALLOW notPorts',
      [{ rules: [{ to: [{ operation: { notPorts: ['8080'] } }] }] }],
      [conn(sleep, 8080), conn(sleep, 9080)],
      ['deny', 'allow'],
    ],
    [
      'DENY beats ALLOW',
      [
        { rules: [{}] },
        { action: 'DENY', rules: [{ from: [{ source: { principals: [sleep.principal] } }] }] },
      ],
      [conn(sleep), conn(notsleep)],
      ['deny', 'allow'],
    ],
    [
      'a DENY with ports and methods denies the whole port (methods ignored)',
      [{ action: 'DENY', rules: [{ to: [{ operation: { ports: ['8080'], methods: ['GET'] } }] }] }],
      [conn(sleep, 8080), conn(sleep, 9080)],
      ['deny', 'allow'],
    ],
    [
      'a DENY whose `to` is only L7 fails closed: it denies its whole L4 scope',
      [
        {
          action: 'DENY',
          rules: [
            {
              from: [{ source: { principals: [sleep.principal] } }],
              to: [{ operation: { methods: ['DELETE'] } }],
            },
          ],
        },
      ],
      [conn(sleep, 8080), conn(sleep, 9080), conn(notsleep)],
      ['deny', 'deny', 'allow'],
    ],
    [
      'a DENY with one L7-only `from` entry covers every source',
      [
        {
          action: 'DENY',
          rules: [
            {
              from: [{ source: { namespaces: ['foo'] } }, { source: { requestPrincipals: ['*'] } }],
              to: [{ operation: { ports: ['8080'] } }],
            },
          ],
        },
      ],
      [conn(sleep, 8080), conn(undefined, 8080), conn(sleep, 9080)],
      ['deny', 'deny', 'allow'],
    ],
    [
      'a DENY `when` on a request header is ignored; the rest of the rule still narrows',
      [
        {
          action: 'DENY',
          rules: [
            {
              from: [{ source: { principals: [sleep.principal] } }],
              when: [{ key: 'request.headers[x-user]', values: ['bob'] }],
            },
          ],
        },
      ],
      [conn(sleep), conn(notsleep)],
      ['deny', 'allow'],
    ],
    [
      'an ALLOW rule with an L7 field is dropped; its other rules stay',
      [
        {
          rules: [
            { to: [{ operation: { methods: ['GET'] } }] },
            { from: [{ source: { principals: [notsleep.principal] } }] },
          ],
        },
      ],
      [conn(sleep), conn(notsleep)],
      ['deny', 'allow'],
    ],
    [
      'an ALLOW whose only rule is L7 allows nothing',
      [
        {
          rules: [
            {
              from: [{ source: { principals: [sleep.principal] } }],
              to: [{ operation: { methods: ['GET'] } }],
            },
          ],
        },
      ],
      [conn(sleep), conn(notsleep)],
      ['deny', 'deny'],
    ],
    [
      'source.serviceAccount and remoteIpBlocks are L7: the ALLOW rule is dropped',
      [
        {
          rules: [
            { from: [{ source: { serviceAccounts: ['default/sleep'] } }] },
            { from: [{ source: { remoteIpBlocks: ['10.0.0.0/8'] } }] },
          ],
        },
      ],
      [conn(sleep)],
      ['deny'],
    ],
    [
      'ipBlocks and notIpBlocks match the source address',
      [{ rules: [{ from: [{ source: { ipBlocks: ['10.244.0.0/16'], notIpBlocks: ['10.244.9.0/24'] } }] }] }],
      [conn(sleep, 80, '10.244.1.5'), conn(sleep, 80, '10.244.9.5'), conn(sleep, 80, '192.168.1.1')],
      ['allow', 'deny', 'deny'],
    ],
    [
      'when source.ip, destination.port and source.namespace are L4',
      [
        {
          rules: [
            {
              when: [
                { key: 'source.ip', values: ['10.244.1.0/24'] },
                { key: 'destination.port', notValues: ['8080'] },
                { key: 'source.namespace', values: ['default'] },
              ],
            },
          ],
        },
      ],
      [conn(sleep, 80), conn(sleep, 8080), conn(sleep, 80, '10.244.2.1'), conn(foreign, 80)],
      ['allow', 'deny', 'deny', 'deny'],
    ],
    [
      'when source.principal and destination.ip',
      [
        {
          rules: [
            {
              when: [
                { key: 'source.principal', values: [sleep.principal] },
                { key: 'destination.ip', values: ['10.244.2.7'] },
              ],
            },
          ],
        },
      ],
      [conn(sleep), conn(notsleep)],
      ['allow', 'deny'],
    ],
    [
      'from entries are ORed; from, to and when are ANDed',
      [
        {
          rules: [
            {
              from: [{ source: { principals: [sleep.principal] } }, { source: { namespaces: ['foo'] } }],
              to: [{ operation: { ports: ['80'] } }],
            },
          ],
        },
      ],
      [conn(sleep, 80), conn(foreign, 80), conn(notsleep, 80), conn(sleep, 81)],
      ['allow', 'allow', 'deny', 'deny'],
    ],
  ])('%s', (_name, specs, conns, expected) => {
    expect(verdicts(specs, conns)).toEqual(expected);
  });
});

describe('AuthorizationPolicy at ztunnel: what is reported', () => {
  it('names the L7 fields and the fix when an ALLOW rule is dropped', () => {
    const t = translateAuthorizationPolicy(
      policy({ rules: [{ to: [{ operation: { methods: ['GET'], paths: ['/x'] } }] }] }),
      ctx,
    );
    expect(t.kind).toBe('ztunnel');
    if (t.kind === 'ztunnel') {
      expect(t.notes).toHaveLength(1);
      expect(t.notes[0]!.field).toBe('spec.rules[0]');
      expect(t.notes[0]!.message).toContain('spec.rules[0].to[0].operation.methods');
      expect(t.notes[0]!.message).toContain('spec.rules[0].to[0].operation.paths');
      expect(t.notes[0]!.message).toContain('targetRefs');
    }
  });

  it('says a DENY with L7 fields covers its whole L4 scope', () => {
    const t = translateAuthorizationPolicy(
      policy({ action: 'DENY', rules: [{ when: [{ key: 'connection.sni', values: ['a'] }] }] }),
      ctx,
    );
    expect(t.kind === 'ztunnel' && t.notes[0]!.message).toContain('denies its whole L4 scope');
  });

  it('has no notes for a purely L4 policy', () => {
    const t = translateAuthorizationPolicy(policy(allowSleep), ctx);
    expect(t.kind === 'ztunnel' && t.notes).toEqual([]);
  });

  it('leaves targetRefs policies to waypoints', () => {
    const spec: Spec = { targetRefs: [{ kind: 'Service', group: '', name: 'productpage' }], rules: [{}] };
    expect(translateAuthorizationPolicy(policy(spec), ctx)).toEqual({ kind: 'waypoint' });
    expect(
      translateAuthorizationPolicy(policy({ targetRef: { kind: 'Gateway', name: 'waypoint' } }), ctx).kind,
    ).toBe('waypoint');
  });

  it.each<[string, Spec, Record<string, string> | undefined, string]>([
    ['CUSTOM', { action: 'CUSTOM', provider: { name: 'ext' }, rules: [{}] }, undefined, 'UnsupportedAction'],
    ['AUDIT', { action: 'AUDIT', rules: [{}] }, undefined, 'UnsupportedAction'],
    ['dry-run', { action: 'DENY', rules: [{}] }, { 'istio.io/dry-run': 'true' }, 'DryRun'],
  ])('reports %s as not enforced rather than dropping it silently', (_n, spec, annotations, reason) => {
    const t = translateAuthorizationPolicy(policy(spec, { annotations }), ctx);
    expect(t).toMatchObject({ kind: 'not-enforced', reason });
  });

  it('rejects values that are wrong in meaning, naming each field', () => {
    const t = translateAuthorizationPolicy(
      policy({
        rules: [
          { to: [{ operation: { ports: ['http', '70000'] } }] },
          {
            from: [{ source: { ipBlocks: ['10.0.0.300/8'] } }],
            when: [{ key: 'destination.port', values: ['x'] }],
          },
        ],
      }),
      ctx,
    );
    expect(t).toEqual({
      kind: 'invalid',
      errors: [
        {
          field: 'spec.rules[0].to[0].operation.ports[0]',
          message: 'must be a port number from 1 to 65535 (got "http")',
        },
        {
          field: 'spec.rules[0].to[0].operation.ports[1]',
          message: 'must be a port number from 1 to 65535 (got "70000")',
        },
        {
          field: 'spec.rules[1].from[0].source.ipBlocks[0]',
          message: 'must be an IP address or CIDR (got "10.0.0.300/8")',
        },
        {
          field: 'spec.rules[1].when[0].values[0]',
          message: 'must be a port number from 1 to 65535 (got "x")',
        },
      ],
    });
  });

  it.each([
    ['istio-system', undefined, 'Global'],
    ['default', undefined, 'Namespace'],
    ['default', { app: 'web' }, 'WorkloadSelector'],
    ['istio-system', { app: 'web' }, 'WorkloadSelector'],
  ])('scopes a policy in %s with selector %j as %s', (namespace, matchLabels, scope) => {
    const spec: Spec = { rules: [{}], ...(matchLabels ? { selector: { matchLabels } } : {}) };
    const r = record(translateAuthorizationPolicy(policy(spec, { namespace, name: 'x' }), ctx));
    expect(r.scope).toBe(scope);
    expect(r.id).toBe(`${namespace}/x`);
    expect(r.source).toEqual({
      group: 'security.istio.io',
      kind: 'AuthorizationPolicy',
      namespace,
      name: 'x',
    });
  });
});
