// Starts and stops one test cluster (etcd + kube-apiserver on loopback) and gives tests a client for it.
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { apiserverUrl, startApiserver, type ApiserverOptions } from './apiserver.ts';
import { applyManifestFiles } from './apply.ts';
import { resolveBinaries, type Binaries } from './binaries.ts';
import { parseHarnessEnv } from './env.ts';
import { ClusterError } from './errors.ts';
import { etcdClientUrl, startEtcd } from './etcd.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { track } from './lifecycle.ts';
import { createClusterPki, type ClusterPki } from './pki.ts';
import { writePki, type PkiPaths } from './pki-files.ts';
import { freePorts } from './ports.ts';
import type { ManagedProcess } from './process.ts';
import { ApiClient } from './rest.ts';
import { reapStale, writePidFile } from './stale.ts';

export interface StartClusterOptions {
  /** A fixed work dir, wiped first (stale processes from a crashed run are killed). @default a fresh temp dir */
  readonly workDir?: string;
  /** Names the kubeconfig's cluster, user and context. @default 'ambit-e2e' */
  readonly name?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Per component. @default 60_000 */
  readonly readyTimeoutMs?: number;
  /** Called with one line per finished stage (for CLIs). */
  readonly onProgress?: (line: string) => void;
}

export interface Cluster {
  readonly name: string;
  readonly workDir: string;
  /** Admin kubeconfig (system:masters), with credentials embedded. */
  readonly kubeconfigPath: string;
  /** https URL of the apiserver. */
  readonly server: string;
  /** PEM files, including the CA key for minting more client certs (see issueClientCert). */
  readonly pki: PkiPaths;
  /** A fresh client-node KubeConfig for the admin. */
  kubeConfig(): KubeConfig;
  /** Server-side applies every document of the files (field manager `ambit-e2e`), waiting for their CRDs. */
  applyManifests(paths: readonly string[]): Promise<void>;
  /** Stops and starts the apiserver on the same port with the same certs; etcd (the data) keeps running. */
  restartApiserver(): Promise<void>;
  /** The current process ids (the apiserver's changes on restart). */
  pids(): { readonly etcd: number; readonly apiserver: number };
  /** Stops both processes and removes the work dir unless AMBIT_KEEP_CLUSTER=1. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_NAME = 'ambit-e2e';
const PORT_ATTEMPTS = 3;

interface Layout {
  readonly workDir: string;
  readonly pkiDir: string;
  readonly etcdDataDir: string;
  readonly apiserverCertDir: string;
  readonly etcdLog: string;
  readonly apiserverLog: string;
  readonly kubeconfigPath: string;
}

function layout(workDir: string): Layout {
  return {
    workDir,
    pkiDir: join(workDir, 'pki'),
    etcdDataDir: join(workDir, 'etcd-data'),
    apiserverCertDir: join(workDir, 'apiserver-certs'),
    etcdLog: join(workDir, 'logs', 'etcd.log'),
    apiserverLog: join(workDir, 'logs', 'kube-apiserver.log'),
    kubeconfigPath: join(workDir, 'kubeconfig'),
  };
}

const isPortInUse = (err: unknown): boolean =>
  err instanceof ClusterError && err.code === 'ERR_CLUSTER_PORT_IN_USE';
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

interface LocalClusterParams {
  readonly name: string;
  readonly layout: Layout;
  readonly pki: PkiPaths;
  readonly certs: ClusterPki;
  readonly bins: Binaries;
  readonly keepWorkDir: boolean;
  readonly readyTimeoutMs: number;
}

class LocalCluster implements Cluster {
  readonly name: string;
  readonly workDir: string;
  readonly kubeconfigPath: string;
  readonly pki: PkiPaths;
  readonly #layout: Layout;
  readonly #bins: Binaries;
  readonly #certs: ClusterPki;
  readonly #keepWorkDir: boolean;
  readonly #readyTimeoutMs: number;
  readonly #untrack: () => void;
  #server = '';
  #apiserverOptions: ApiserverOptions | undefined;
  #api: ApiClient | undefined;
  #etcd: ManagedProcess | undefined;
  #apiserver: ManagedProcess | undefined;
  #stopping: Promise<void> | undefined;

  constructor(p: LocalClusterParams) {
    this.name = p.name;
    this.workDir = p.layout.workDir;
    this.kubeconfigPath = p.layout.kubeconfigPath;
    this.pki = p.pki;
    this.#layout = p.layout;
    this.#certs = p.certs;
    this.#bins = p.bins;
    this.#keepWorkDir = p.keepWorkDir;
    this.#readyTimeoutMs = p.readyTimeoutMs;
    this.#untrack = track({ kill: () => this.#killNow(), stop: () => this.stop() });
  }

  get server(): string {
    return this.#server;
  }

  /** Starts etcd then the apiserver on fresh ports, retrying with other ports when a bind loses a race. */
  async boot(progress: (line: string) => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const [clientPort = 0, peerPort = 0, securePort = 0] = await freePorts(3);
      // A member initialised with other peer URLs would keep them: start each attempt from an empty data dir.
      await rm(this.#layout.etcdDataDir, { recursive: true, force: true });
      try {
        let t = Date.now();
        const etcdOpts = { dataDir: this.#layout.etcdDataDir, clientPort, peerPort };
        this.#etcd = await startEtcd(this.#bins.etcd, etcdOpts, this.#layout.etcdLog, this.#readyTimeoutMs);
        await writePidFile(this.workDir, 'etcd', this.#etcd.pid);
        progress(`etcd ready on ${etcdClientUrl(clientPort)} (${seconds(t)})`);
        t = Date.now();
        this.#server = apiserverUrl(securePort);
        this.#apiserverOptions = {
          etcdUrl: etcdClientUrl(clientPort),
          securePort,
          certDir: this.#layout.apiserverCertDir,
          pki: this.pki,
        };
        await this.#startApiserver();
        progress(`kube-apiserver ready on ${this.#server} (${seconds(t)})`);
        return;
      } catch (err) {
        await this.#etcd?.stop();
        if (!isPortInUse(err) || attempt >= PORT_ATTEMPTS) throw err;
      }
    }
  }

  async #startApiserver(): Promise<void> {
    if (this.#apiserverOptions === undefined) throw new Error('apiserver options unset before start');
    this.#api?.close();
    this.#api = new ApiClient({
      server: this.#server,
      caPem: this.#certs.ca.certPem,
      certPem: this.#certs.admin.certPem,
      keyPem: this.#certs.admin.keyPem,
    });
    const proc = await startApiserver(
      this.#bins.kubeApiserver,
      this.#apiserverOptions,
      this.#layout.apiserverLog,
      this.#api,
      this.#readyTimeoutMs,
    );
    this.#apiserver = proc;
    await writePidFile(this.workDir, 'kube-apiserver', proc.pid);
  }

  #live(what: string): ApiClient {
    if (this.#stopping !== undefined || this.#api === undefined) {
      throw new ClusterError('ERR_CLUSTER_STOPPED', `cannot ${what}: cluster ${this.name} is stopped`);
    }
    return this.#api;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  async applyManifests(paths: readonly string[]): Promise<void> {
    await applyManifestFiles(this.#live('apply manifests'), paths);
  }

  async restartApiserver(): Promise<void> {
    this.#live('restart the apiserver');
    await this.#apiserver?.stop();
    // The port was ours a moment ago, but something else may grab it in between: retry briefly, same port.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#startApiserver();
      } catch (err) {
        if (!isPortInUse(err) || attempt >= PORT_ATTEMPTS) throw err;
        await sleep(500 * attempt);
      }
    }
  }

  pids(): { etcd: number; apiserver: number } {
    return { etcd: this.#etcd?.pid ?? -1, apiserver: this.#apiserver?.pid ?? -1 };
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop(!this.#keepWorkDir);
    return this.#stopping;
  }

  /** Stops the processes but keeps the work dir, whose logs explain why a start failed. */
  abort(): Promise<void> {
    this.#stopping ??= this.#stop(false);
    return this.#stopping;
  }

  async #stop(removeWorkDir: boolean): Promise<void> {
    // The apiserver first: it would otherwise spend its shutdown retrying a vanished etcd.
    await this.#apiserver?.stop();
    await this.#etcd?.stop();
    this.#api?.close();
    if (removeWorkDir) await rm(this.workDir, { recursive: true, force: true });
    this.#untrack();
  }

  #killNow(): void {
    this.#apiserver?.signalGroup('SIGKILL');
    this.#etcd?.signalGroup('SIGKILL');
    if (!this.#keepWorkDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** Starts etcd and kube-apiserver on loopback with fresh certs, and writes an admin kubeconfig. */
export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  const env = opts.env ?? process.env;
  const harness = parseHarnessEnv(env);
  const progress = opts.onProgress ?? (() => {});
  const name = opts.name ?? DEFAULT_NAME;
  let t = Date.now();
  const bins = await resolveBinaries(harness, env);
  progress(`binaries ready in ${bins.dir} (${seconds(t)})`);

  t = Date.now();
  let workDir: string;
  if (opts.workDir === undefined) {
    workDir = await mkdtemp(join(tmpdir(), 'ambit-cluster-'));
  } else {
    await reapStale(opts.workDir);
    workDir = opts.workDir;
  }
  const l = layout(workDir);
  await mkdir(join(workDir, 'logs'), { recursive: true });
  const certs = await createClusterPki();
  const pki = await writePki(l.pkiDir, certs);
  progress(`certificates written to ${pki.dir} (${seconds(t)})`);

  const cluster = new LocalCluster({
    name,
    layout: l,
    pki,
    certs,
    bins,
    keepWorkDir: harness.keepCluster,
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
  });
  try {
    await cluster.boot(progress);
    await writeKubeconfig(l.kubeconfigPath, {
      name,
      server: cluster.server,
      caPem: certs.ca.certPem,
      clientCertPem: certs.admin.certPem,
      clientKeyPem: certs.admin.keyPem,
    });
    return cluster;
  } catch (err) {
    await cluster.abort().catch(() => {});
    if (err instanceof Error) err.message += `\n(work dir kept for diagnosis: ${workDir})`;
    throw err;
  }
}
