// Keeps this replica's signing root and trust bundle in step with the root Secret, and moves the rotation along
// (ca/rotation.ts). Every replica runs one: each pass re-reads the Mesh (settings, the rotation request, its uid),
// the user's Secret if there is one, and `ambit-ca-root`; acts on the plan with a resourceVersion precondition (of
// two replicas acting on one state, the loser's write fails with 409, it re-reads and finds the winner's); reloads
// what it signs with when the Secret changed; and puts the bundle in the ConfigMap if it differs.
//
// No Mesh (or one being deleted): nothing is written, so the Secret and ConfigMap it owned can be collected; the
// replica keeps serving its last root. A Mesh again and no Secret (it was collected): a new root, owned by the new
// Mesh, without a restart.
//
// With `gateways`, each pass also keeps a copy of the bundle in every namespace that has a Gateway of our classes
// (bundle-copies.ts), in the same pass as the original so a rotation reaches them together; like the original,
// written by every replica under preconditions and owned by the Mesh. A copy that cannot be written is logged and
// retried next pass; it never fails the pass (the root itself is served regardless).
import type { Mesh } from '@ambit/codegen/crds';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { createRoot, crossCertify, loadRoot, type PemPair, type SigningCa } from '../ca/authority.ts';
import {
  applyRotation,
  describeRotation,
  planRotation,
  publishedRoots,
  ROTATE_ROOT_ANNOTATION,
  type RootState,
  type RotationInput,
  type RotationMaterials,
  type RotationPlan,
  type RotationSettings,
} from '../ca/rotation.ts';
import { planBundleCopies, type GatewayPlacement } from './bundle-copies.ts';
import { parseDuration } from './duration.ts';
import {
  decodeRootState,
  isApiError,
  listTrustBundles,
  publishTrustBundle,
  readSecret,
  readUserRoot,
  ROOT_SECRET,
  TRUST_BUNDLE_CONFIGMAP,
  writeBundleCopy,
  writeRootState,
  type MeshOwner,
} from './root-store.ts';

/** Margin added to each rotation overlap by default: replicas polling, clock skew (as much as certificates are backdated). */
export const DEFAULT_SETTLE_MS = 60_000;
export const DEFAULT_POLL_MS = 2_000;

export interface RootKeeperOptions {
  readonly kc: KubeConfig;
  /** Where the root Secret, the user's Secret and the bundle ConfigMap live. */
  readonly namespace: string;
  /** The Mesh now (the operator's cache, or a read). */
  mesh(): Mesh | undefined | Promise<Mesh | undefined>;
  /**
   * Gateways now (the operator's cache): every namespace with one of our classes gets a copy of the bundle, and
   * loses it with the last one. Unset: only the home namespace has the bundle.
   */
  gateways?(): readonly GatewayPlacement[];
  /** Rotation settings for a Mesh; defaults from `spec.ca` with DEFAULT_SETTLE_MS. */
  settings?(mesh: Mesh): RotationSettings;
  now?(): number;
  /** @default DEFAULT_POLL_MS */
  readonly pollMs?: number;
  /** Called after a pass that changed what this replica serves. */
  onChange?(roots: ServedRoots): void;
  log(line: string): void;
}

/** What this replica signs with and hands out. */
export interface ServedRoots {
  readonly signing: SigningCa;
  readonly bundle: readonly string[];
  readonly servingIntermediates: readonly string[];
  readonly state: RootState;
}

export function meshRotationSettings(mesh: Mesh, settleMs = DEFAULT_SETTLE_MS): RotationSettings {
  return {
    rootTtlMs: parseDuration(mesh.spec.ca?.rootCertTTL ?? '87600h'),
    workloadTtlMs: parseDuration(mesh.spec.ca?.workloadCertTTL ?? '24h'),
    settleMs,
  };
}

function ownerOf(mesh: Mesh): MeshOwner | undefined {
  return mesh.metadata.uid ? { name: mesh.metadata.name ?? 'default', uid: mesh.metadata.uid } : undefined;
}

const MAX_ATTEMPTS = 5;

export class RootKeeper {
  readonly #o: RootKeeperOptions;
  readonly #core: CoreV1Api;
  #served: ServedRoots | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;
  #stopped = false;
  #lastError = '';
  #lastUserRootError = '';
  #lastCopyError = '';
  /** Namespaces already reported for holding a ConfigMap of the bundle's name that is not ours. */
  #foreign = new Set<string>();
  /** Why the last pass had no root to serve. */
  #missing = 'the Mesh does not exist';

  constructor(o: RootKeeperOptions) {
    this.#o = o;
    this.#core = o.kc.makeApiClient(CoreV1Api);
  }

  /** What this replica serves; undefined before the first successful pass. */
  get served(): ServedRoots | undefined {
    return this.#served;
  }

  /** The first pass (which must give a root), then one every `pollMs`. */
  async start(): Promise<ServedRoots> {
    await this.sync();
    const served = this.#served;
    if (!served) throw new Error(`no root yet: ${this.#missing}`);
    this.#schedule();
    return served;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.sync()
        .then(() => (this.#lastError = ''))
        .catch((err: unknown) => {
          const message = `ca root: ${err instanceof Error ? err.message : String(err)}`;
          // Once per distinct error, not every poll.
          if (message !== this.#lastError) this.#o.log(message);
          this.#lastError = message;
        })
        .finally(() => this.#schedule());
    }, this.#o.pollMs ?? DEFAULT_POLL_MS);
    this.#timer.unref();
  }

  /** One pass; concurrent callers share it. */
  sync(): Promise<void> {
    this.#pass ??= this.#syncOnce().finally(() => (this.#pass = undefined));
    return this.#pass;
  }

  async #syncOnce(): Promise<void> {
    const mesh = await this.#o.mesh();
    if (!mesh || mesh.metadata.deletionTimestamp) {
      this.#missing = 'the Mesh does not exist';
      return;
    }
    const settings = this.#o.settings?.(mesh) ?? meshRotationSettings(mesh);
    const owner = ownerOf(mesh);
    const userSecret = mesh.spec.ca?.rootSecret?.name;
    const input: RotationInput = {
      now: this.#now(),
      settings,
      request: mesh.metadata.annotations?.[ROTATE_ROOT_ANNOTATION],
      source: userSecret ? { kind: 'user', ...(await this.#userRoot(userSecret)) } : { kind: 'self-signed' },
    };
    const { namespace } = this.#o;
    let live = await readSecret(this.#core, namespace, ROOT_SECRET);
    let state = live ? decodeRootState(live) : undefined;
    for (let attempt = 1; ; attempt++) {
      const plan = planRotation(state, input);
      if (plan.kind === 'none') break;
      const next = applyRotation(state, plan, await this.#materials(state, plan, mesh, input), input);
      if (!next) break;
      try {
        live = await writeRootState(this.#core, namespace, live, next, owner);
        state = next;
        this.#o.log(`ca root: ${plan.kind} (${plan.reason}); now ${describeRotation(next)}`);
        break;
      } catch (err) {
        if (!(isApiError(err, 409) && attempt < MAX_ATTEMPTS)) throw err;
        // Another replica wrote first: act on what it wrote.
        live = await readSecret(this.#core, namespace, ROOT_SECRET);
        state = live ? decodeRootState(live) : undefined;
      }
    }
    if (!state) {
      this.#missing = `Secret ${namespace}/${userSecret ?? ''} (spec.ca.rootSecret) is not usable`;
      return;
    }
    await this.#serve(state);
    const roots = publishedRoots(state);
    const wrote = await publishTrustBundle(this.#core, namespace, roots.bundle, owner);
    if (wrote === 'created' || wrote === 'updated')
      this.#o.log(`ca root: trust bundle ${wrote} (${roots.bundle.length} root(s))`);
    if (owner) await this.#publishCopies(roots.bundle.join(''), owner);
  }

  /** The bundle's copies in the Gateways' namespaces; failures are logged (once each), not thrown. */
  async #publishCopies(bundle: string, owner: MeshOwner): Promise<void> {
    const gateways = this.#o.gateways?.();
    if (!gateways) return;
    const errors: string[] = [];
    const foreign = new Set<string>();
    try {
      const live = await listTrustBundles(this.#core);
      const home = this.#o.namespace;
      for (const step of planBundleCopies({ bundle, owner, home, gateways, live })) {
        const where = `${step.namespace}/${TRUST_BUNDLE_CONFIGMAP}`;
        if (step.kind === 'foreign') {
          foreign.add(step.namespace);
          if (!this.#foreign.has(step.namespace))
            this.#o.log(
              `ca root: ConfigMap ${where} was not made by the operator; left as it is, so proxies there trust what it holds`,
            );
          continue;
        }
        try {
          if ((await writeBundleCopy(this.#core, step)) === 'done')
            this.#o.log(`ca root: trust bundle copy ${step.kind}d in ${step.namespace}`);
        } catch (err) {
          errors.push(`${step.kind} ${where}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      this.#foreign = foreign;
    } catch (err) {
      errors.push(`listing the trust bundle copies: ${err instanceof Error ? err.message : String(err)}`);
    }
    const message = errors.length > 0 ? `ca root: trust bundle copies: ${errors.join('; ')}` : '';
    if (message && message !== this.#lastCopyError) this.#o.log(message);
    this.#lastCopyError = message;
  }

  async #userRoot(name: string): Promise<{ desired?: PemPair }> {
    try {
      const pair = await readUserRoot(this.#core, this.#o.namespace, name);
      await loadRoot(pair); // a CA whose key matches, or the user's change is not taken
      this.#lastUserRootError = '';
      return { desired: pair };
    } catch (err) {
      const message = `ca root: the user's root is not usable, keeping the current one: ${err instanceof Error ? err.message : String(err)}`;
      if (message !== this.#lastUserRootError) this.#o.log(message);
      this.#lastUserRootError = message;
      return {};
    }
  }

  async #materials(
    state: RootState | undefined,
    plan: RotationPlan,
    mesh: Mesh,
    input: RotationInput,
  ): Promise<RotationMaterials> {
    if (plan.kind !== 'init' && plan.kind !== 'add') return {};
    const root =
      plan.root ??
      (await createRoot({
        trustDomain: mesh.spec.trustDomain ?? 'cluster.local',
        ttlMs: input.settings.rootTtlMs,
        now: new Date(input.now),
      }));
    if (plan.kind === 'init' || !state) return { root };
    const cross = await crossCertify(root.certPem, await loadRoot(state.current), new Date(input.now));
    return { root, cross };
  }

  async #serve(state: RootState): Promise<void> {
    const roots = publishedRoots(state);
    const before = this.#served;
    const sameSigning = before?.signing.certPem === roots.signing.certPem;
    if (
      sameSigning &&
      sameList(before.bundle, roots.bundle) &&
      sameList(before.servingIntermediates, roots.servingIntermediates)
    ) {
      this.#served = { ...before, state };
      return;
    }
    const signing = sameSigning ? before.signing : await loadRoot(roots.signing);
    this.#served = {
      signing,
      bundle: roots.bundle,
      servingIntermediates: roots.servingIntermediates,
      state,
    };
    if (before)
      this.#o.log(`ca root: serving ${describeRotation(state)} (${roots.bundle.length} root(s) trusted)`);
    this.#o.onChange?.(this.#served);
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
