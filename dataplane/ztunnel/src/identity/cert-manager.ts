// Workload certificates for the pods of this node: fetched on first use, shared by concurrent callers, renewed in
// the background at half their lifetime, and kept in use while a renewal fails (the CA may be away; the old
// certificate is still valid). Which CA signs is a `CertificateSource` (the control plane's CertificateService, or
// an in-process CA in tests). Whoever presents certificates without asking each time (the native transport's
// listeners) `watch`es for new ones.

/** What TLS needs to present one identity. */
export interface WorkloadCertificate {
  readonly identity: string;
  /** Leaf first. */
  readonly chainPem: readonly string[];
  readonly keyPem: string;
  /** Roots to verify peers against. */
  readonly trustBundlePem: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CertificateSource {
  fetch(identity: string): Promise<WorkloadCertificate>;
}

export interface CertManagerOptions {
  readonly source: CertificateSource;
  now?(): number;
  /** Retry delay after a failed renewal. @default 5_000 */
  readonly retryMs?: number;
  log?(line: string): void;
}

interface Entry {
  current?: WorkloadCertificate;
  pending?: Promise<WorkloadCertificate>;
  timer?: NodeJS.Timeout;
}

export class CertManager {
  readonly #o: CertManagerOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #watchers = new Set<(cert: WorkloadCertificate) => void>();

  constructor(o: CertManagerOptions) {
    this.#o = o;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** A valid certificate for `identity`, fetching one if none is held. */
  async get(identity: string): Promise<WorkloadCertificate> {
    const e = this.#entries.get(identity) ?? {};
    this.#entries.set(identity, e);
    if (e.current && e.current.notAfter.getTime() > this.#now()) return e.current;
    return this.#fetch(identity, e);
  }

  /** The certificate held now, if any (no fetch). */
  peek(identity: string): WorkloadCertificate | undefined {
    return this.#entries.get(identity)?.current;
  }

  /** Stops renewing an identity no pod on this node uses any more. */
  forget(identity: string): void {
    const e = this.#entries.get(identity);
    clearTimeout(e?.timer);
    this.#entries.delete(identity);
  }

  /** Calls `fn` with every certificate fetched from now on (first ones and renewals); returns the unwatch. */
  watch(fn: (cert: WorkloadCertificate) => void): () => void {
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  }

  stop(): void {
    for (const id of [...this.#entries.keys()]) this.forget(id);
  }

  #fetch(identity: string, e: Entry): Promise<WorkloadCertificate> {
    e.pending ??= this.#o.source
      .fetch(identity)
      .then((cert) => {
        e.current = cert;
        this.#scheduleRenewal(identity, e, cert);
        for (const watcher of this.#watchers) {
          try {
            watcher(cert);
          } catch (err) {
            this.#o.log?.(`certificates: a watcher of ${identity} failed: ${String(err)}`);
          }
        }
        return cert;
      })
      .finally(() => {
        e.pending = undefined;
      });
    return e.pending;
  }

  #scheduleRenewal(identity: string, e: Entry, cert: WorkloadCertificate, delayMs?: number): void {
    clearTimeout(e.timer);
    const half = (cert.notBefore.getTime() + cert.notAfter.getTime()) / 2;
    const at = delayMs ?? Math.max(0, half - this.#now());
    e.timer = setTimeout(() => {
      if (this.#entries.get(identity) !== e) return;
      this.#fetch(identity, e).catch((err: unknown) => {
        this.#o.log?.(`certificates: renewing ${identity} failed, keeping the current one: ${String(err)}`);
        if (e.current) this.#scheduleRenewal(identity, e, e.current, this.#o.retryMs ?? 5_000);
      });
    }, at);
    e.timer.unref();
  }
}
