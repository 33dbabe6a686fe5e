// Starts and stops one test cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) and gives
// tests a client for it.
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { apiserverUrl, startApiserver, type ApiserverOptions } from './apiserver.ts';
import { applyManifestFiles } from './apply.ts';
import { componentsFor, resolveBinaries, type Binaries } from './binaries.ts';
import { startControllerManager } from './controller-manager.ts';
import { parseHarnessEnv } from './env.ts';
import { ClusterError } from './errors.ts';
import { etcdClientUrl, startEtcd } from './etcd.ts';
import { loopbackHealthzUrl } from './healthz.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { track } from './lifecycle.ts';
import {
  CONTROLLER_MANAGER_IDENTITY,
  createClusterPki,
  SCHEDULER_IDENTITY,
  type CertAndKey,
  type ClusterPki,
} from './pki.ts';
import { writePki, type PkiPaths } from './pki-files.ts';
import { freePort, freePorts } from './ports.ts';
import type { ManagedProcess } from './process.ts';
import { waitReady } from './readiness.ts';
import { ApiClient } from './rest.ts';
import { startScheduler } from './scheduler.ts';
import { reapStale, writePidFile } from './stale.ts';

/**
 * `apiserver`: etcd and kube-apiserver only (objects are stored and served, nothing acts on them).
 * `full`: also kube-controller-manager and kube-scheduler, so Deployments get pods, pods get nodes, namespaces
 * delete and garbage is collected; only kubelets are missing.
 */
export type ControlPlane = 'apiserver' | 'full';

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
  /** @default 'full' */
  readonly controlPlane?: ControlPlane;
  /**
   * IPv4 address the apiserver binds and advertises; it is in the serving cert and in every kubeconfig. It must
   * exist on the host (any 127.0.0.0/8 address does; the underlay bridge's 172.30.0.1 once the network is up).
   * The other components always listen on 127.0.0.1. @default '127.0.0.1'
   */
  readonly bindAddress?: string;
}

/** Process ids of the components' latest processes; -1 for one never started (or not in this control plane). */
export interface ClusterPids {
  readonly etcd: number;
  readonly apiserver: number;
  readonly controllerManager: number;
  readonly scheduler: number;
}

export interface Cluster {
  readonly name: string;
  readonly controlPlane: ControlPlane;
  /** Where the apiserver listens (StartClusterOptions.bindAddress). */
  readonly bindAddress: string;
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
  /**
   * Stops and starts the apiserver on the same port with the same certs; etcd (the data), the controller-manager
   * and the scheduler keep running and reconnect (no leader election, so they have no lease to lose).
   */
  restartApiserver(): Promise<void>;
  /** The current process ids (the apiserver's changes on restart). */
  pids(): ClusterPids;
  /** Stops every process and removes the work dir unless AMBIT_KEEP_CLUSTER=1. Idempotent. */
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
  readonly controllerManagerLog: string;
  readonly schedulerLog: string;
  readonly kubeconfigPath: string;
  readonly controllerManagerKubeconfig: string;
  readonly schedulerKubeconfig: string;
  readonly flexVolumeDir: string;
}

function layout(workDir: string): Layout {
  return {
    workDir,
    pkiDir: join(workDir, 'pki'),
    etcdDataDir: join(workDir, 'etcd-data'),
    apiserverCertDir: join(workDir, 'apiserver-certs'),
    etcdLog: join(workDir, 'logs', 'etcd.log'),
    apiserverLog: join(workDir, 'logs', 'kube-apiserver.log'),
    controllerManagerLog: join(workDir, 'logs', 'kube-controller-manager.log'),
    schedulerLog: join(workDir, 'logs', 'kube-scheduler.log'),
    kubeconfigPath: join(workDir, 'kubeconfig'),
    controllerManagerKubeconfig: join(workDir, 'controller-manager.kubeconfig'),
    schedulerKubeconfig: join(workDir, 'scheduler.kubeconfig'),
    flexVolumeDir: join(workDir, 'flexvolume'),
  };
}

const isPortInUse = (err: unknown): boolean =>
  err instanceof ClusterError && err.code === 'ERR_CLUSTER_PORT_IN_USE';
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Runs `start` on a free loopback port, retrying with another port when the bind loses a race. */
async function onFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (err) {
      if (!isPortInUse(err) || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

/** Throws the first rejection among settled results, if any. */
function throwFirstRejection(results: readonly PromiseSettledResult<unknown>[]): void {
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected === undefined) return;
  const reason: unknown = rejected.reason;
  throw reason instanceof Error ? reason : new Error(String(reason));
}

/**
 * What pods need before they can be created in `default`: the ServiceAccount admission plugin refuses a pod whose
 * service account does not exist yet, and projected token volumes mount the root CA ConfigMap. The controller-manager
 * creates both within a second or two of starting; waiting here spares every test that race.
 */
const DEFAULT_NAMESPACE_READY_PATHS = [
  '/api/v1/namespaces/default/serviceaccounts/default',
  '/api/v1/namespaces/default/configmaps/kube-root-ca.crt',
];

interface LocalClusterParams {
  readonly name: string;
  readonly controlPlane: ControlPlane;
  readonly bindAddress: string;
  readonly layout: Layout;
  readonly pki: PkiPaths;
  readonly certs: ClusterPki;
  readonly bins: Binaries;
  readonly keepWorkDir: boolean;
  readonly readyTimeoutMs: number;
}

class LocalCluster implements Cluster {
  readonly name: string;
  readonly controlPlane: ControlPlane;
  readonly bindAddress: string;
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
  #controllerManager: ManagedProcess | undefined;
  #scheduler: ManagedProcess | undefined;
  #stopping: Promise<void> | undefined;

  constructor(p: LocalClusterParams) {
    this.name = p.name;
    this.controlPlane = p.controlPlane;
    this.bindAddress = p.bindAddress;
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

  /** Starts etcd and the apiserver, then (full) the controller-manager and scheduler; writes the kubeconfigs. */
  async boot(progress: (line: string) => void): Promise<void> {
    const t = Date.now();
    await this.#bootApiserver(progress);
    if (this.controlPlane === 'full') {
      await this.#bootControllers(progress);
      progress(`control plane ready (${seconds(t)})`);
    }
  }

  /** Starts etcd then the apiserver on fresh ports, retrying with other ports when a bind loses a race. */
  async #bootApiserver(progress: (line: string) => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      // Ports on one address are picked together, so they are distinct.
      const onLoopback = this.bindAddress === '127.0.0.1';
      const [clientPort = 0, peerPort = 0, loopbackPort = 0] = await freePorts(onLoopback ? 3 : 2);
      const securePort = onLoopback ? loopbackPort : await freePort(this.bindAddress);
      // A member initialised with other peer URLs would keep them: start each attempt from an empty data dir.
      await rm(this.#layout.etcdDataDir, { recursive: true, force: true });
      try {
        let t = Date.now();
        const etcdOpts = { dataDir: this.#layout.etcdDataDir, clientPort, peerPort };
        this.#etcd = await startEtcd(this.#bins.etcd, etcdOpts, this.#layout.etcdLog, this.#readyTimeoutMs);
        await writePidFile(this.workDir, 'etcd', this.#etcd.pid);
        progress(`etcd ready on ${etcdClientUrl(clientPort)} (${seconds(t)})`);
        t = Date.now();
        this.#server = apiserverUrl(securePort, this.bindAddress);
        await this.#writeKubeconfigs();
        this.#apiserverOptions = {
          etcdUrl: etcdClientUrl(clientPort),
          bindAddress: this.bindAddress,
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

  /** The admin's kubeconfig and, for a full control plane, one per component with its own client cert. */
  async #writeKubeconfigs(): Promise<void> {
    const write = (path: string, user: string, cred: CertAndKey): Promise<void> =>
      writeKubeconfig(path, {
        name: this.name,
        user,
        server: this.#server,
        caPem: this.#certs.ca.certPem,
        clientCertPem: cred.certPem,
        clientKeyPem: cred.keyPem,
      });
    await write(this.kubeconfigPath, `${this.name}-admin`, this.#certs.admin);
    if (this.controlPlane !== 'full') return;
    await write(
      this.#layout.controllerManagerKubeconfig,
      CONTROLLER_MANAGER_IDENTITY.cn,
      this.#certs.controllerManager,
    );
    await write(this.#layout.schedulerKubeconfig, SCHEDULER_IDENTITY.cn, this.#certs.scheduler);
  }

  /** Starts the controller-manager and the scheduler side by side, then waits for the `default` namespace's SA. */
  async #bootControllers(progress: (line: string) => void): Promise<void> {
    const caPem = this.#certs.ca.certPem;
    const timeoutMs = this.#readyTimeoutMs;
    const controllerManager = onFreePort(async (securePort) => {
      const t = Date.now();
      const opts = {
        kubeconfig: this.#layout.controllerManagerKubeconfig,
        securePort,
        pki: this.pki,
        flexVolumeDir: this.#layout.flexVolumeDir,
      };
      const bin = this.#bins.kubeControllerManager;
      const proc = await startControllerManager(
        bin,
        opts,
        this.#layout.controllerManagerLog,
        caPem,
        timeoutMs,
      );
      this.#controllerManager = proc;
      await writePidFile(this.workDir, 'kube-controller-manager', proc.pid);
      progress(`kube-controller-manager ready on ${loopbackHealthzUrl(securePort)} (${seconds(t)})`);
    });
    const scheduler = onFreePort(async (securePort) => {
      const t = Date.now();
      const opts = { kubeconfig: this.#layout.schedulerKubeconfig, securePort, pki: this.pki };
      const proc = await startScheduler(
        this.#bins.kubeScheduler,
        opts,
        this.#layout.schedulerLog,
        caPem,
        timeoutMs,
      );
      this.#scheduler = proc;
      await writePidFile(this.workDir, 'kube-scheduler', proc.pid);
      progress(`kube-scheduler ready on ${loopbackHealthzUrl(securePort)} (${seconds(t)})`);
    });
    // Both settle before we go on, so a failure of one never leaves the other starting unobserved.
    throwFirstRejection(await Promise.allSettled([controllerManager, scheduler]));

    const t = Date.now();
    const api = this.#live('wait for the default service account');
    const present = async (path: string): Promise<boolean> => (await api.request('GET', path)).status === 200;
    const kcm = this.#controllerManager;
    if (kcm === undefined) throw new Error('controller-manager unset after start');
    await waitReady(kcm, {
      probe: async () => (await Promise.all(DEFAULT_NAMESPACE_READY_PATHS.map(present))).every(Boolean),
      timeoutMs,
      intervalMs: 250,
    });
    progress(`default service account and root CA present (${seconds(t)})`);
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

  pids(): ClusterPids {
    const pid = (p: ManagedProcess | undefined): number => p?.pid ?? -1;
    return {
      etcd: pid(this.#etcd),
      apiserver: pid(this.#apiserver),
      controllerManager: pid(this.#controllerManager),
      scheduler: pid(this.#scheduler),
    };
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
    // Clients of the apiserver first (they would log retries against a vanished apiserver), then the apiserver
    // (it would otherwise spend its shutdown retrying a vanished etcd).
    await Promise.all([this.#controllerManager?.stop(), this.#scheduler?.stop()]);
    await this.#apiserver?.stop();
    await this.#etcd?.stop();
    this.#api?.close();
    if (removeWorkDir) await rm(this.workDir, { recursive: true, force: true });
    this.#untrack();
  }

  #killNow(): void {
    this.#controllerManager?.signalGroup('SIGKILL');
    this.#scheduler?.signalGroup('SIGKILL');
    this.#apiserver?.signalGroup('SIGKILL');
    this.#etcd?.signalGroup('SIGKILL');
    if (!this.#keepWorkDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}

/**
 * Starts a control plane (by default the full one) with fresh certs and writes an admin kubeconfig; resolves once
 * every component is ready and, for a full control plane, pods can be created in `default`.
 */
export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  const env = opts.env ?? process.env;
  const harness = parseHarnessEnv(env);
  const progress = opts.onProgress ?? (() => {});
  const name = opts.name ?? DEFAULT_NAME;
  const controlPlane = opts.controlPlane ?? 'full';
  const bindAddress = opts.bindAddress ?? '127.0.0.1';
  if (!isIPv4(bindAddress)) {
    throw new ClusterError(
      'ERR_CLUSTER_INVALID_OPTION',
      `bindAddress must be an IPv4 address, got '${bindAddress}'`,
    );
  }
  let t = Date.now();
  const bins = await resolveBinaries(harness, env, componentsFor(controlPlane));
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
  const certs = await createClusterPki({ bindAddress });
  const pki = await writePki(l.pkiDir, certs);
  progress(`certificates written to ${pki.dir} (${seconds(t)})`);

  const cluster = new LocalCluster({
    name,
    controlPlane,
    bindAddress,
    layout: l,
    pki,
    certs,
    bins,
    keepWorkDir: harness.keepCluster,
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
  });
  try {
    await cluster.boot(progress);
    return cluster;
  } catch (err) {
    await cluster.abort().catch(() => {});
    if (err instanceof Error) err.message += `\n(work dir kept for diagnosis: ${workDir})`;
    throw err;
  }
}
