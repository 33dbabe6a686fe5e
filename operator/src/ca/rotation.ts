// Root rotation as a pure state machine (DESIGN §8: "rotation adds the new root to the trust bundle before signing
// with it"). The persisted state is one of three phases:
//
//   steady    sign with `current`; bundle [current]
//   adding    sign with `current`; bundle [current, next]          (next made, not used yet)
//   switched  sign with `current` (was next); bundle [previous, current]
//
// adding → switched once one workload-certificate lifetime (plus a settle margin) has passed: every proxy renews at
// half its certificate's lifetime, so by then each holds a certificate whose trust bundle has the new root, and a
// peer signed by it verifies. switched → steady once one more lifetime has passed: every certificate signed by the
// old root has expired, so it can leave the bundle. The settle margin covers replicas that have not re-read the
// Secret yet (they poll every few seconds) and clock skew between them.
//
// A rotation starts from steady only: on request (a new value of the Mesh annotation `ambit.dev/rotate-root`, acted
// on once per value), automatically when the self-signed root has less than `rotateWhenRemaining` of its life
// left, or, with a root brought by the user (`spec.ca.rootSecret`), when the user's Secret holds a different
// certificate from the one signing. Everything time- or key-dependent comes in through the input, so `planRotation`
// and `applyRotation` are deterministic; the caller makes keys and writes the result with a resourceVersion
// precondition, so two replicas never both act on one state.
import { X509Certificate } from 'node:crypto';
import type { PemPair } from './authority.ts';

/** The Mesh annotation that asks for a rotation: any value not acted on before starts one. */
export const ROTATE_ROOT_ANNOTATION = 'ambit.dev/rotate-root';

export interface RootState {
  /** The root that signs. */
  readonly current: PemPair;
  /** `current` certified by the root before it (after a rotation): the serving chain carries it. */
  readonly cross?: string;
  /** Phase `adding`: the root that signs next, already in the bundle. */
  readonly next?: PemPair;
  /** `next` certified by `current`; becomes `cross` at the switch. */
  readonly nextCross?: string;
  /** Phase `switched`: the root that signed before, still in the bundle until its certificates have expired. */
  readonly previous?: string;
  /** When the current phase began (ms since the epoch). */
  readonly since: number;
  /** The last `ambit.dev/rotate-root` value acted on. */
  readonly handledRequest?: string;
}

export type RotationPhase = 'steady' | 'adding' | 'switched';

export function phaseOf(s: RootState): RotationPhase {
  if (s.next) return 'adding';
  if (s.previous !== undefined) return 'switched';
  return 'steady';
}

export interface RotationSettings {
  /** Lifetime of a self-signed root (`spec.ca.rootCertTTL`). */
  readonly rootTtlMs: number;
  /** Longest lifetime of a workload certificate (`spec.ca.workloadCertTTL`). */
  readonly workloadTtlMs: number;
  /** Added to each overlap: replicas still reading the old state, clock skew. */
  readonly settleMs: number;
  /** Start a rotation of a self-signed root when less than this is left (default: `autoRotateThresholdMs`). */
  readonly rotateWhenRemainingMs?: number;
}

export interface RotationInput {
  readonly now: number;
  readonly settings: RotationSettings;
  /** The value of `ambit.dev/rotate-root` on the Mesh, if any. */
  readonly request?: string | undefined;
  /**
   * `self-signed`: the operator makes roots. `user`: the root is the user's Secret (`spec.ca.rootSecret`), whose
   * validated content is `desired` (undefined while it cannot be read: then nothing changes).
   */
  readonly source: { readonly kind: 'self-signed' } | { readonly kind: 'user'; readonly desired?: PemPair };
}

/** What to do now. `root` absent on `init` and `add`: make a fresh self-signed root. */
export type RotationPlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'init'; readonly root?: PemPair; readonly reason: string }
  | { readonly kind: 'add'; readonly root?: PemPair; readonly reason: string }
  | { readonly kind: 'cancel'; readonly reason: string }
  | { readonly kind: 'switch'; readonly reason: string }
  | { readonly kind: 'finish'; readonly reason: string };

/** What the caller made for the plan: the new root (made or the user's) and, for `add`, its cross-certificate. */
export interface RotationMaterials {
  readonly root?: PemPair;
  readonly cross?: string;
}

/** What each replica serves from a state. */
export interface PublishedRoots {
  readonly signing: PemPair;
  /** Roots proxies verify peers (and the control plane) against: the ConfigMap and every certificate response. */
  readonly bundle: readonly string[];
  /** Appended to the serving certificate instead of the signing root (the cross-certificate), if any. */
  readonly servingIntermediates: readonly string[];
}

interface Validity {
  readonly notBefore: number;
  readonly notAfter: number;
}

function validity(pem: string): Validity {
  const c = new X509Certificate(pem);
  return { notBefore: c.validFromDate.getTime(), notAfter: c.validToDate.getTime() };
}

/** Same certificate (DER), whatever the PEM's line breaks. */
export function sameCertificate(a: string, b: string): boolean {
  return new X509Certificate(a).raw.equals(new X509Certificate(b).raw);
}

/**
 * When to rotate a self-signed root automatically: with max(3 × workload lifetime, 20 % of the root's lifetime)
 * left, so the rotation (about two workload lifetimes) finishes well before the root expires and workload
 * certificates are not cut short by it; at most half the root's lifetime, so a fresh root is never due at once.
 */
export function autoRotateThresholdMs(rootLifetimeMs: number, workloadTtlMs: number): number {
  return Math.min(Math.max(3 * workloadTtlMs, 0.2 * rootLifetimeMs), 0.5 * rootLifetimeMs);
}

/** How long each overlap (adding, switched) lasts at least. */
export function overlapMs(settings: RotationSettings): number {
  return settings.workloadTtlMs + settings.settleMs;
}

export function planRotation(state: RootState | undefined, input: RotationInput): RotationPlan {
  const { source, now, settings } = input;
  if (!state) {
    if (source.kind === 'user') {
      return source.desired
        ? { kind: 'init', root: source.desired, reason: "adopted the user's root" }
        : NONE;
    }
    return { kind: 'init', reason: 'no root yet' };
  }
  const due = state.since + overlapMs(settings);
  if (phaseOf(state) === 'switched') {
    return now >= due ? { kind: 'finish', reason: 'the old root has no valid certificates left' } : NONE;
  }
  if (state.next) {
    const next = state.next;
    if (source.kind === 'user' && source.desired && !sameCertificate(source.desired.certPem, next.certPem)) {
      // The user's Secret changed again before the switch: nothing is signed by `next` yet, so it can be replaced
      // (or dropped, if the user went back to the root that signs).
      return sameCertificate(source.desired.certPem, state.current.certPem)
        ? { kind: 'cancel', reason: "the user's Secret holds the signing root again" }
        : { kind: 'add', root: source.desired, reason: "the user's Secret changed again" };
    }
    return now >= due ? { kind: 'switch', reason: 'every proxy has had time to renew' } : NONE;
  }
  // steady
  if (source.kind === 'user') {
    if (source.desired && !sameCertificate(source.desired.certPem, state.current.certPem)) {
      return { kind: 'add', root: source.desired, reason: "the user's Secret holds a new root" };
    }
    return NONE;
  }
  if (input.request !== undefined && input.request !== state.handledRequest) {
    return { kind: 'add', reason: `requested (${ROTATE_ROOT_ANNOTATION}: ${JSON.stringify(input.request)})` };
  }
  const v = validity(state.current.certPem);
  const threshold =
    settings.rotateWhenRemainingMs ?? autoRotateThresholdMs(v.notAfter - v.notBefore, settings.workloadTtlMs);
  if (v.notAfter - now < threshold) return { kind: 'add', reason: 'the root is close to expiry' };
  return NONE;
}

const NONE: RotationPlan = { kind: 'none' };

export class RotationError extends Error {
  readonly code = 'ERR_ROTATION';
}

/** The state after `plan`, with what the caller made for it. */
export function applyRotation(
  state: RootState | undefined,
  plan: RotationPlan,
  materials: RotationMaterials,
  input: Pick<RotationInput, 'now' | 'request'>,
): RootState | undefined {
  const since = input.now;
  const kept = (s: RootState) => ({
    ...(s.cross !== undefined ? { cross: s.cross } : {}),
    ...(s.handledRequest !== undefined ? { handledRequest: s.handledRequest } : {}),
  });
  // A new root answers the request in force, whatever made it (so a value seen while the user's root is in
  // charge does not start a rotation later).
  const answered = (s: RootState | undefined) => {
    const value = input.request ?? s?.handledRequest;
    return value === undefined ? {} : { handledRequest: value };
  };
  switch (plan.kind) {
    case 'none':
      return state;
    case 'init': {
      const root = materials.root ?? plan.root;
      if (!root) throw new RotationError('init needs a root');
      return { current: root, since, ...answered(undefined) };
    }
    case 'add': {
      const root = materials.root ?? plan.root;
      if (!state || !root) throw new RotationError('add needs a state and the next root');
      return {
        ...kept(state),
        current: state.current,
        next: root,
        ...(materials.cross !== undefined ? { nextCross: materials.cross } : {}),
        since,
        ...answered(state),
      };
    }
    case 'cancel':
    case 'finish':
      if (!state) throw new RotationError(`${plan.kind} needs a state`);
      return { ...kept(state), current: state.current, since };
    case 'switch': {
      if (!state?.next) throw new RotationError('switch needs a next root');
      return {
        ...(state.handledRequest !== undefined ? { handledRequest: state.handledRequest } : {}),
        current: state.next,
        ...(state.nextCross !== undefined ? { cross: state.nextCross } : {}),
        previous: state.current.certPem,
        since,
      };
    }
  }
}

export function publishedRoots(s: RootState): PublishedRoots {
  const bundle = s.next
    ? [s.current.certPem, s.next.certPem]
    : s.previous !== undefined
      ? [s.previous, s.current.certPem]
      : [s.current.certPem];
  return { signing: s.current, bundle, servingIntermediates: s.cross ? [s.cross] : [] };
}

/** The phase as a word for logs and the Secret's annotation. */
export function describeRotation(s: RootState): string {
  const phase = phaseOf(s);
  return `${phase} since ${new Date(s.since).toISOString()}`;
}
