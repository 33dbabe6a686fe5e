// The rotation state machine: every transition, its timing bounds, idempotence, the request annotation acted on
// once per value, a root brought by the user changing, and a whole rotation driven through time.
import { describe, expect, it } from 'vitest';
import { createRoot, type PemPair } from './authority.ts';
import {
  applyRotation,
  autoRotateThresholdMs,
  overlapMs,
  phaseOf,
  planRotation,
  publishedRoots,
  type RootState,
  type RotationInput,
  type RotationMaterials,
  type RotationPlan,
  type RotationSettings,
} from './rotation.ts';

const H = 3_600_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const settings: RotationSettings = { rootTtlMs: 1000 * H, workloadTtlMs: H, settleMs: 60_000 };
const OVERLAP = overlapMs(settings); // 1 h 1 min

const roots = await Promise.all(
  [0, 1, 2, 3].map(() => createRoot({ trustDomain: 'cluster.local', ttlMs: 1000 * H, now: new Date(T0) })),
);
const [A, B, C] = roots as [PemPair, PemPair, PemPair];
const CROSS_B = 'cross(B by A)';

const steady = (extra: Partial<RootState> = {}): RootState => ({ current: A, since: T0, ...extra });
const adding = (extra: Partial<RootState> = {}): RootState => ({
  current: A,
  next: B,
  nextCross: CROSS_B,
  since: T0,
  ...extra,
});
const switched = (extra: Partial<RootState> = {}): RootState => ({
  current: B,
  cross: CROSS_B,
  previous: A.certPem,
  since: T0,
  ...extra,
});

const selfSigned = { kind: 'self-signed' } as const;
const user = (desired?: PemPair) => ({ kind: 'user' as const, ...(desired ? { desired } : {}) });
const input = (o: Partial<RotationInput> = {}): RotationInput => ({
  now: T0 + 1,
  settings,
  source: selfSigned,
  ...o,
});

describe('planRotation', () => {
  it.each<[string, RootState | undefined, Partial<RotationInput>, RotationPlan['kind'], PemPair?]>([
    ['no root yet: make one', undefined, {}, 'init'],
    ["no root yet, the user's: adopt it", undefined, { source: user(C) }, 'init', C],
    ["no root yet, the user's unreadable: wait", undefined, { source: user() }, 'none'],
    ['steady, fresh root: nothing', steady(), {}, 'none'],
    ['steady, a new request value: add', steady(), { request: 'r1' }, 'add'],
    [
      'steady, the request already acted on: nothing',
      steady({ handledRequest: 'r1' }),
      { request: 'r1' },
      'none',
    ],
    ['steady, another request value: add', steady({ handledRequest: 'r1' }), { request: 'r2' }, 'add'],
    ['steady, the annotation removed: nothing', steady({ handledRequest: 'r1' }), {}, 'none'],
    ["steady, the user's root unchanged: nothing", steady(), { source: user(A) }, 'none'],
    ["steady, the user's Secret unreadable: nothing", steady(), { source: user() }, 'none'],
    ["steady, the user's Secret holds a new root: add it", steady(), { source: user(C) }, 'add', C],
    [
      "steady, the user's root and a request: the request is not ours to act on",
      steady(),
      { source: user(A), request: 'r1' },
      'none',
    ],
    ['adding, before the overlap: nothing', adding(), { now: T0 + OVERLAP - 1 }, 'none'],
    ['adding, the overlap over: switch', adding(), { now: T0 + OVERLAP }, 'switch'],
    ['adding, a request meanwhile: not before steady', adding(), { now: T0 + 1, request: 'r9' }, 'none'],
    [
      "adding the user's root, unchanged: switch on time",
      adding(),
      { now: T0 + OVERLAP, source: user(B) },
      'switch',
    ],
    [
      "adding the user's root, Secret unreadable: switch on time",
      adding(),
      { now: T0 + OVERLAP, source: user() },
      'switch',
    ],
    ["adding, the user's Secret changed again: replace next", adding(), { source: user(C) }, 'add', C],
    ["adding, the user's Secret back to the signing root: cancel", adding(), { source: user(A) }, 'cancel'],
    ['switched, before the overlap: nothing', switched(), { now: T0 + OVERLAP - 1 }, 'none'],
    ['switched, the overlap over: finish', switched(), { now: T0 + OVERLAP }, 'finish'],
    [
      "switched, the user's Secret changed again: finish first",
      switched(),
      { now: T0 + 1, source: user(C) },
      'none',
    ],
    ['switched, a request meanwhile: finish first', switched(), { now: T0 + 1, request: 'r9' }, 'none'],
  ])('%s', (_name, state, o, kind, root) => {
    const plan = planRotation(state, input(o));
    expect(plan.kind).toBe(kind);
    if (root) expect(plan).toMatchObject({ root });
    else if (plan.kind === 'init' || plan.kind === 'add') expect(plan.root).toBeUndefined();
  });

  it('rotates a self-signed root automatically once less than the threshold of its life is left', () => {
    const notAfter = T0 + 1000 * H;
    const lifetime = notAfter - (T0 - 60_000); // roots are backdated a minute
    const threshold = autoRotateThresholdMs(lifetime, settings.workloadTtlMs);
    expect(threshold).toBe(0.2 * lifetime);
    expect(planRotation(steady(), input({ now: notAfter - threshold })).kind).toBe('none');
    expect(planRotation(steady(), input({ now: notAfter - threshold + 1 }))).toMatchObject({
      kind: 'add',
      reason: 'the root is close to expiry',
    });
    // An explicit threshold wins; a user's root is never rotated by the operator.
    const explicit = { ...settings, rotateWhenRemainingMs: 10 * H };
    expect(planRotation(steady(), input({ now: notAfter - 10 * H, settings: explicit })).kind).toBe('none');
    expect(planRotation(steady(), input({ now: notAfter - 10 * H + 1, settings: explicit })).kind).toBe(
      'add',
    );
    expect(planRotation(steady(), input({ now: notAfter - H, source: user(A) })).kind).toBe('none');
  });

  it.each([
    ['a long root: 20 % of its life', 1000 * H, H, 200 * H],
    ['a short root: three workload lifetimes', 10 * H, H, 3 * H],
    ['too short a root: at most half its life, so a new one is not due at once', 4 * H, H, 2 * H],
  ])('threshold for %s', (_name, root, workload, expected) => {
    expect(autoRotateThresholdMs(root, workload)).toBe(expected);
  });
});

describe('applyRotation', () => {
  const now = T0 + 5 * H;
  it('init: the root signs alone, and the request in force counts as acted on', () => {
    const s = applyRotation(undefined, { kind: 'init', reason: '' }, { root: A }, { now, request: 'r1' });
    expect(s).toEqual({ current: A, since: now, handledRequest: 'r1' });
    expect(phaseOf(s!)).toBe('steady');
  });

  it('add: next joins the bundle, current still signs', () => {
    const s = applyRotation(
      steady({ handledRequest: 'r0' }),
      { kind: 'add', reason: '' },
      { root: B, cross: CROSS_B },
      { now, request: 'r1' },
    );
    expect(s).toEqual({ current: A, next: B, nextCross: CROSS_B, since: now, handledRequest: 'r1' });
    expect(phaseOf(s!)).toBe('adding');
  });

  it("add: the user's root from the plan, the request untouched when there is none", () => {
    const s = applyRotation(
      steady({ handledRequest: 'r0' }),
      { kind: 'add', root: C, reason: '' },
      { cross: 'x' },
      { now },
    );
    expect(s).toMatchObject({ next: C, handledRequest: 'r0' });
  });

  it('switch: next signs, the old root stays trusted, the cross-certificate goes to the serving chain', () => {
    const s = applyRotation(adding({ handledRequest: 'r1' }), { kind: 'switch', reason: '' }, {}, { now });
    expect(s).toEqual({ current: B, cross: CROSS_B, previous: A.certPem, since: now, handledRequest: 'r1' });
    expect(phaseOf(s!)).toBe('switched');
  });

  it('finish: the old root leaves the bundle; the cross-certificate stays for proxies that trust only it', () => {
    const s = applyRotation(switched({ handledRequest: 'r1' }), { kind: 'finish', reason: '' }, {}, { now });
    expect(s).toEqual({ current: B, cross: CROSS_B, since: now, handledRequest: 'r1' });
  });

  it('cancel: next is dropped (nothing was signed with it)', () => {
    const s = applyRotation(adding({ cross: 'older' }), { kind: 'cancel', reason: '' }, {}, { now });
    expect(s).toEqual({ current: A, cross: 'older', since: now });
  });

  it('refuses a transition that does not fit the state', () => {
    expect(() => applyRotation(steady(), { kind: 'switch', reason: '' }, {}, { now })).toThrow('next root');
    expect(() => applyRotation(undefined, { kind: 'init', reason: '' }, {}, { now })).toThrow('a root');
    expect(() => applyRotation(undefined, { kind: 'add', reason: '' }, { root: B }, { now })).toThrow(
      'state',
    );
  });

  it.each<[string, RootState | undefined, Partial<RotationInput>, RotationMaterials]>([
    ['init', undefined, { request: 'r1' }, { root: A }],
    ['add on request', steady(), { request: 'r1' }, { root: B, cross: CROSS_B }],
    ["add the user's root", steady(), { source: user(C) }, { cross: 'x' }],
    ['switch', adding(), { now: T0 + OVERLAP }, {}],
    ['finish', switched(), { now: T0 + OVERLAP }, {}],
    ['cancel', adding(), { source: user(A) }, {}],
  ])('is idempotent: after %s, the same input plans nothing', (_name, state, o, materials) => {
    const i = input(o);
    const plan = planRotation(state, i);
    expect(plan.kind).not.toBe('none');
    const after = applyRotation(state, plan, materials, i);
    expect(planRotation(after, i).kind).toBe('none');
    expect(applyRotation(after, { kind: 'none' }, {}, i)).toBe(after);
  });
});

describe('publishedRoots', () => {
  it.each<[string, RootState, PemPair, string[], string[]]>([
    ['steady', steady(), A, [A.certPem], []],
    ['adding: both roots, the current signs', adding(), A, [A.certPem, B.certPem], []],
    ['switched: both roots, the new one signs', switched(), B, [A.certPem, B.certPem], [CROSS_B]],
    ['steady after a rotation', { current: B, cross: CROSS_B, since: T0 }, B, [B.certPem], [CROSS_B]],
  ])('%s', (_name, state, signing, bundle, intermediates) => {
    expect(publishedRoots(state)).toEqual({ signing, bundle, servingIntermediates: intermediates });
  });
});

describe('a rotation through time', () => {
  /** One pass every minute, as a replica would; fresh roots from the pool. */
  function drive(o: {
    from: RootState;
    until: number;
    request?: string;
    source?: RotationInput['source'];
    pool?: PemPair[];
  }) {
    const pool = o.pool ?? [B, C];
    let state: RootState | undefined = o.from;
    const log: { at: number; kind: RotationPlan['kind'] }[] = [];
    for (let now = T0; now <= o.until; now += 60_000) {
      const i = input({ now, request: o.request, source: o.source ?? selfSigned });
      const plan = planRotation(state, i);
      if (plan.kind === 'none') continue;
      log.push({ at: now - T0, kind: plan.kind });
      const root = plan.kind === 'add' && !plan.root ? pool.shift() : undefined;
      state = applyRotation(state, plan, { ...(root ? { root } : {}), cross: 'x' }, i);
    }
    return { state, log };
  }

  it('on request: adding for one workload lifetime plus the margin, switched for as long, then steady', () => {
    const { state, log } = drive({ from: steady(), until: T0 + 10 * H, request: 'r1' });
    expect(log).toEqual([
      { at: 0, kind: 'add' },
      { at: OVERLAP, kind: 'switch' },
      { at: 2 * OVERLAP, kind: 'finish' },
    ]);
    expect(state).toMatchObject({ current: B, handledRequest: 'r1' });
    expect(publishedRoots(state!).bundle).toEqual([B.certPem]);
  });

  it('keeps every certificate valid against the bundle its holder has', () => {
    // A certificate issued at any time by the signing root lives at most one workload lifetime; the root that
    // issued it must be in the bundle until then, and any peer must have renewed (at half a lifetime) since the
    // root it is verified against joined the bundle.
    const { log } = drive({ from: steady(), until: T0 + 10 * H, request: 'r1' });
    const [add, sw, fin] = log.map((l) => l.at) as [number, number, number];
    const lastFromOld = sw; // the old root signs until the switch
    expect(lastFromOld + settings.workloadTtlMs).toBeLessThanOrEqual(fin);
    expect(add + settings.workloadTtlMs / 2).toBeLessThanOrEqual(sw);
  });

  it("follows the user's root: add, switch, steady; a second change waits for the first to finish", () => {
    const first = drive({ from: steady(), until: T0 + 10 * H, source: user(B) });
    expect(first.log.map((l) => l.kind)).toEqual(['add', 'switch', 'finish']);
    expect(first.state?.current).toEqual(B);
    const changedDuring = drive({ from: switched(), until: T0 + 10 * H, source: user(C) });
    expect(changedDuring.log.map((l) => l.kind)).toEqual(['finish', 'add', 'switch', 'finish']);
    expect(changedDuring.state?.current).toEqual(C);
  });

  it('acts on a request made during a rotation once, after it', () => {
    const { log, state } = drive({
      from: adding({ handledRequest: 'r1' }),
      until: T0 + 10 * H,
      request: 'r2',
      pool: [C],
    });
    expect(log.map((l) => l.kind)).toEqual(['switch', 'finish', 'add', 'switch', 'finish']);
    expect(state).toMatchObject({ current: C, handledRequest: 'r2' });
  });
});
