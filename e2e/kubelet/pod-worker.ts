// One pod on this node: level-based sync of its sandbox, volumes, containers and status; teardown and deletion.
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { CRASH_BACKOFF, PULL_BACKOFF, RETRY_BACKOFF, nextBackoff } from './backoff.ts';
import { imageNotFoundMessage } from './catalogue/catalogue.ts';
import { launchContainer } from './container-launch.ts';
import { podLogPath } from './container-plan.ts';
import type { ContainerExit, ContainerHandle } from './container.ts';
import { chooseLogRun } from './log-selection.ts';
import { planPod, type ContainerAction, type PodPlan } from './pod-plan.ts';
import {
  CONTAINER_ID_SCHEME,
  emptyRecord,
  type ContainerKind,
  type ContainerRecord,
  type FailedAttempt,
  type StopReason,
} from './pod-state.ts';
import { buildPodStatus, statusPatch, type ApiPodStatus } from './pod-status.ts';
import type { ContainerProbes, ContainerProbeStatus } from './probes.ts';
import {
  createPodSandbox,
  materializePodVolumes,
  podDir,
  podLayout,
  type PodWorkerContext,
} from './pod-resources.ts';
import type { RuntimeAnswer, RuntimeContainer, RuntimeLog, RuntimePod } from './runtime-socket.ts';
import { removeSandbox, type Sandbox } from './sandbox.ts';
import type { VolumeLayout } from './volume-plan.ts';
import { removeVolumes } from './volumes.ts';
import type { ReconcileResult } from './work-queue.ts';

/** kuberuntime's minimumGracePeriodInSeconds: even a 0 s grace gets SIGTERM and this long before SIGKILL. */
export const MIN_GRACE_SECONDS = 2;
const DEFAULT_GRACE_SECONDS = 30;

/** A running container's process and probes. */
interface LiveContainer {
  readonly containerID: string;
  readonly handle: ContainerHandle;
  readonly probes: ContainerProbes | undefined;
}

/** The grace period for stopping the pod: the deletion's, else the spec's, never under MIN_GRACE_SECONDS. */
export function podGraceSeconds(pod: V1Pod | undefined): number {
  const g =
    pod?.metadata?.deletionGracePeriodSeconds ??
    pod?.spec?.terminationGracePeriodSeconds ??
    DEFAULT_GRACE_SECONDS;
  return Math.max(MIN_GRACE_SECONDS, g);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function exitCodeOf(exit: ContainerExit): number {
  if (exit.code !== null) return exit.code;
  const signal = exit.signal === null ? undefined : osConstants.signals[exit.signal];
  return signal === undefined ? 255 : 128 + signal;
}

/**
 * Lifecycle (each step re-derived from the pod and the records on every sync, never from the event that woke it):
 * 1. running: sandbox → volumes → planPod's actions → status, retried with back-off when a step fails;
 * 2. complete (restartPolicy says nothing runs again): torn down (sidecars stopped, sandbox and volumes removed),
 *    status kept;
 * 3. deleted (deletionTimestamp): torn down within the grace period, final status written, then the Pod deleted
 *    with grace 0 and a uid precondition;
 * 4. removed from the API, or the node shutting down: torn down without touching the API.
 * Teardown runs in the background; a shorter grace arriving meanwhile shortens it.
 */
export class PodWorker {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly #ctx: PodWorkerContext;
  /** Asks for another sync of this pod (after `ms`, default now). */
  readonly #requeue: (ms?: number) => void;
  #pod: V1Pod;
  readonly #records = new Map<string, ContainerRecord>();
  readonly #live = new Map<string, LiveContainer>();
  /** containerID → the CRI log of that run (as a runtime's ContainerStatus.logPath). */
  readonly #runLogs = new Map<string, string>();
  #sandbox: Sandbox | undefined;
  #podIP: string | undefined;
  #sandboxFailure: FailedAttempt | undefined;
  #volumesAt: number | undefined;
  #volumeFailure: FailedAttempt | undefined;
  #startTime: number | undefined;
  /** Nothing starts any more: the pod completed, was deleted, vanished or the node is shutting down. */
  #done = false;
  #teardown: { deadline: number; readonly promise: Promise<void> } | undefined;
  #tornDown = false;
  #lastStatus: ApiPodStatus | undefined;
  #lastStatusJson: string | undefined;
  #apiDeleted = false;

  constructor(ctx: PodWorkerContext, pod: V1Pod, requeue: (ms?: number) => void) {
    this.#ctx = ctx;
    this.#pod = pod;
    this.#requeue = requeue;
    this.uid = pod.metadata?.uid ?? '';
    this.namespace = pod.metadata?.namespace ?? '';
    this.name = pod.metadata?.name ?? '';
  }

  get key(): string {
    return `${this.namespace}/${this.name}`;
  }

  /** Torn down: nothing of the pod runs or remains on the node except its logs. */
  get finished(): boolean {
    return this.#tornDown;
  }

  /** The CRI log of the container's current (or latest) run, or of the run before with `previous`. */
  logPath(container: string, previous = false): string | undefined {
    const rec = this.#records.get(container);
    if (rec === undefined || (rec.running === undefined && rec.last === undefined)) return undefined;
    const run = previous ? rec.restartCount - 1 : rec.restartCount;
    return run < 0 ? undefined : podLogPath(this.#ctx.logsDir, this.#pod, container, run);
  }

  /** The running container's handle (for exec). */
  container(name: string): ContainerHandle | undefined {
    return this.#live.get(name)?.handle;
  }

  /** The kubelet server's view of the pod (runtime-socket.ts). */
  runtimePod(): RuntimePod {
    const sb = this.#sandbox;
    return { uid: this.uid, netns: sb === undefined ? '' : `/run/netns/${sb.netns ?? sb.nodeNetns}` };
  }

  /** A running container for exec: its main process and environment. */
  runtimeContainer(name: string): RuntimeAnswer<RuntimeContainer> {
    if (this.#spec(name) === undefined) {
      return { ok: false, status: 404, message: `container ${name} is not valid for pod ${this.name}` };
    }
    const live = this.#live.get(name);
    if (live === undefined || live.handle.exitInfo !== undefined) {
      return { ok: false, status: 400, message: `container ${name} in pod ${this.name} is not running` };
    }
    const env = Object.entries(live.handle.env).map(([k, v]) => `${k}=${v}`);
    return { ok: true, value: { id: live.containerID, pid: live.handle.pid, env } };
  }

  /** The log `kubectl logs [--previous]` reads, chosen from the status last written as the kubelet does. */
  runtimeLog(name: string, previous: boolean): RuntimeAnswer<RuntimeLog> {
    if (this.#spec(name) === undefined) {
      return { ok: false, status: 404, message: `container "${name}" not found in pod "${this.name}"` };
    }
    const choice = chooseLogRun(this.name, this.#lastStatus ?? this.#pod.status, name, previous);
    if (!choice.ok) return { ok: false, status: 400, message: choice.message };
    const path = this.#runLogs.get(choice.containerID);
    if (path === undefined) {
      return {
        ok: false,
        status: 400,
        message: `no log for container ${choice.containerID} in pod "${this.name}"`,
      };
    }
    return { ok: true, value: { id: choice.containerID, path } };
  }

  /** Whether the run with this containerID is running. */
  isRunning(containerID: string): boolean {
    for (const live of this.#live.values()) {
      if (live.containerID === containerID) return live.handle.exitInfo === undefined;
    }
    return false;
  }

  async sync(pod: V1Pod): Promise<ReconcileResult> {
    this.#pod = pod;
    if (pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null) {
      return this.#syncDeleted(pod);
    }
    if (this.#records.size === 0 && this.#sandbox === undefined && isTerminalPhase(pod.status?.phase)) {
      // Ended before this kubelet took it on (a kubelet restart): it never runs again.
      this.#done = true;
      this.#tornDown = true;
    }
    if (this.#done) return this.#syncDone();
    const now = Date.now();
    this.#startTime ??= now;

    if (this.#sandbox === undefined) {
      const wait = this.#waitingOut(this.#sandboxFailure, now);
      if (wait !== undefined) return this.#pending(this.#sandboxFailure, wait);
      try {
        this.#sandbox = await createPodSandbox(this.#ctx, this.#pod);
        this.#podIP = this.#sandbox.podIP;
        this.#sandboxFailure = undefined;
      } catch (err) {
        this.#sandboxFailure = this.#failed('FailedCreatePodSandBox', err, this.#sandboxFailure, now);
        this.#ctx.log(`pod ${this.key}: ${this.#sandboxFailure.message}`);
        return this.#pending(this.#sandboxFailure, this.#sandboxFailure.backoffMs);
      }
    }

    const refreshMs = this.#ctx.volumeRefreshMs ?? 60_000;
    // Besides the periodic refresh, as a real kubelet's pod sync remounts API-data volumes before it (re)starts a
    // container: one that crashed for want of an optional ConfigMap finds it on its next start.
    const startsPending =
      this.#volumesAt !== undefined &&
      this.#volumesAt < now &&
      this.#plan().actions.some((a) => a.kind === 'start');
    if (this.#volumesAt === undefined || now - this.#volumesAt >= refreshMs || startsPending) {
      const wait = this.#volumesAt === undefined ? this.#waitingOut(this.#volumeFailure, now) : undefined;
      if (wait !== undefined) return this.#pending(this.#volumeFailure, wait);
      try {
        await materializePodVolumes(this.#ctx, this.#pod, this.#sandbox);
        this.#volumesAt = now;
        this.#volumeFailure = undefined;
      } catch (err) {
        const first = this.#volumesAt === undefined;
        this.#volumeFailure = this.#failed('FailedMount', err, this.#volumeFailure, now);
        this.#ctx.log(`pod ${this.key}: volumes: ${this.#volumeFailure.message}`);
        if (first) return this.#pending(this.#volumeFailure, this.#volumeFailure.backoffMs);
        this.#volumesAt = now; // keep the old contents; try again at the next refresh
      }
    }

    for (const action of this.#plan().actions) await this.#act(action, this.#sandbox);
    const plan = this.#plan();
    if (plan.complete) {
      this.#done = true;
      this.#beginTeardown(podGraceSeconds(pod));
      return {};
    }
    await this.#writeStatus(plan, false);
    const delays = [
      plan.actions.length > 0 ? 0 : undefined,
      plan.wakeAt === undefined ? undefined : plan.wakeAt - Date.now(),
      (this.#volumesAt ?? now) + refreshMs - Date.now(),
    ].filter((d): d is number => d !== undefined);
    return { requeueAfterMs: Math.max(0, Math.min(...delays)) };
  }

  /** The pod left the API (force-deleted) or this node: tear it down; there is nothing to write. */
  remove(lastSeen: V1Pod | undefined): void {
    this.#done = true;
    this.#apiDeleted = true;
    this.#beginTeardown(podGraceSeconds(lastSeen ?? this.#pod));
  }

  /** Node shutdown: stop everything with at most `maxGraceSeconds`; the Pod objects stay. */
  async shutdown(maxGraceSeconds: number): Promise<void> {
    this.#done = true;
    for (let attempt = 0; attempt < 2 && !this.#tornDown; attempt++) {
      this.#beginTeardown(Math.min(podGraceSeconds(this.#pod), maxGraceSeconds));
      await this.#teardown?.promise;
    }
  }

  /** Removes the pod's log directory (once the pod is gone for good). */
  async removeLogs(): Promise<void> {
    const m = this.#pod.metadata ?? {};
    await rm(join(this.#ctx.logsDir, `${m.namespace ?? ''}_${m.name ?? ''}_${m.uid ?? ''}`), {
      recursive: true,
      force: true,
    });
  }

  async #syncDeleted(pod: V1Pod): Promise<ReconcileResult> {
    this.#done = true;
    this.#beginTeardown(podGraceSeconds(pod));
    if (!this.#tornDown || this.#apiDeleted) return {};
    await this.#writeStatus(this.#plan(), true);
    await this.#ctx.api.deletePod(this.namespace, this.name, this.uid);
    this.#apiDeleted = true;
    this.#ctx.log(`pod ${this.key}: deleted`);
    return {};
  }

  async #syncDone(): Promise<ReconcileResult> {
    this.#beginTeardown(podGraceSeconds(this.#pod));
    if (this.#tornDown && !this.#apiDeleted && this.#records.size > 0)
      await this.#writeStatus(this.#plan(), false);
    return {};
  }

  #plan(): PodPlan {
    const crash = this.#ctx.backoff?.crash ?? CRASH_BACKOFF;
    const pull = this.#ctx.backoff?.pull ?? PULL_BACKOFF;
    return planPod({
      pod: this.#pod,
      records: this.#records,
      imageError: (c) =>
        this.#ctx.catalogue.resolve(c.image ?? '') === undefined
          ? imageNotFoundMessage(c.image ?? '', this.#ctx.catalogue)
          : undefined,
      now: Date.now(),
      crash,
      pull,
    });
  }

  #failed(reason: string, err: unknown, previous: FailedAttempt | undefined, now: number): FailedAttempt {
    const backoffMs = nextBackoff(this.#ctx.backoff?.retry ?? RETRY_BACKOFF, previous?.backoffMs);
    return { reason, message: messageOf(err), at: now, backoffMs };
  }

  /** Milliseconds left of a failure's back-off, or undefined when it is time to try again. */
  #waitingOut(f: FailedAttempt | undefined, now: number): number | undefined {
    return f !== undefined && now < f.at + f.backoffMs ? f.at + f.backoffMs - now : undefined;
  }

  /** Status before containers can start: all waiting in ContainerCreating, with the failure if there is one. */
  async #pending(failure: FailedAttempt | undefined, retryMs: number): Promise<ReconcileResult> {
    const spec = this.#pod.spec;
    const message = failure === undefined ? undefined : `${failure.reason}: ${failure.message}`;
    const waiting = new Map(
      [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].map((c) => [
        c.name,
        { reason: 'ContainerCreating', ...(message === undefined ? {} : { message }) },
      ]),
    );
    const initialized = (spec?.initContainers ?? []).length === 0;
    await this.#writeStatus({ waiting, initialized, initFailed: false }, false);
    return { requeueAfterMs: retryMs };
  }

  async #writeStatus(
    plan: Pick<PodPlan, 'waiting' | 'initialized' | 'initFailed'>,
    terminated: boolean,
  ): Promise<void> {
    const status = buildPodStatus({
      pod: this.#pod,
      records: this.#records,
      plan,
      hostIP: this.#ctx.nodeIP,
      podIP: this.#podIP,
      sandboxReady: this.#sandbox !== undefined,
      startTime: this.#startTime,
      terminated,
      previous: this.#lastStatus,
      now: Date.now(),
    });
    const json = JSON.stringify(status);
    if (json === this.#lastStatusJson) return;
    await this.#ctx.api.patchPodStatus(this.namespace, this.name, statusPatch(this.uid, status));
    this.#lastStatus = status;
    this.#lastStatusJson = json;
  }

  #podDir(): string {
    return podDir(this.#ctx, this.uid);
  }

  #layout(): VolumeLayout {
    return podLayout(this.#ctx, this.uid);
  }

  #spec(name: string): { container: V1Container; kind: ContainerKind } | undefined {
    const spec = this.#pod.spec;
    const init = spec?.initContainers?.find((c) => c.name === name);
    if (init !== undefined)
      return { container: init, kind: init.restartPolicy === 'Always' ? 'sidecar' : 'init' };
    const regular = spec?.containers.find((c) => c.name === name);
    return regular === undefined ? undefined : { container: regular, kind: 'regular' };
  }

  #record(name: string, kind: ContainerKind): ContainerRecord {
    return this.#records.get(name) ?? emptyRecord(name, kind);
  }

  async #act(action: ContainerAction, sandbox: Sandbox): Promise<void> {
    const found = this.#spec(action.container);
    if (found === undefined) return;
    const rec = this.#record(action.container, found.kind);
    const now = Date.now();
    switch (action.kind) {
      case 'pull-failed':
        this.#records.set(rec.name, {
          ...rec,
          pull: { reason: 'ErrImagePull', message: action.message, at: now, backoffMs: action.backoffMs },
        });
        return;
      case 'kill':
        void this.#stop(rec.name, action.reason, this.#killGrace(found.container, action.reason));
        return;
      case 'start':
        await this.#start(found.container, rec, action.crashBackoffMs, sandbox);
        return;
    }
  }

  /** A probe's own terminationGracePeriodSeconds wins over the pod's (probe-level grace, GA since 1.28). */
  #killGrace(c: V1Container, reason: 'liveness' | 'startup'): number {
    const probe = reason === 'liveness' ? c.livenessProbe : c.startupProbe;
    return Math.max(MIN_GRACE_SECONDS, probe?.terminationGracePeriodSeconds ?? podGraceSeconds(this.#pod));
  }

  async #start(
    c: V1Container,
    rec: ContainerRecord,
    crashBackoffMs: number | undefined,
    sandbox: Sandbox,
  ): Promise<void> {
    const resolved = this.#ctx.catalogue.resolve(c.image ?? '');
    if (resolved === undefined) return;
    const restartCount = rec.last === undefined ? rec.restartCount : rec.restartCount + 1;
    const containerID = `${CONTAINER_ID_SCHEME}${randomBytes(32).toString('hex')}`;
    const image = { ref: resolved.image, id: resolved.imageID };
    const now = Date.now();
    const logPath = podLogPath(this.#ctx.logsDir, this.#pod, c.name, restartCount);
    this.#runLogs.set(containerID, logPath);
    const result = await launchContainer({
      api: this.#ctx.api,
      pod: this.#pod,
      container: c,
      program: resolved.program,
      sandbox,
      layout: this.#layout(),
      logPath,
      node: { name: this.#ctx.nodeName, ip: this.#ctx.nodeIP, allocatable: this.#ctx.allocatable },
      services: this.#ctx.services(),
      prober: this.#ctx.prober,
      onProbeStatus: (s) => this.#onProbeStatus(c.name, containerID, s),
      onStartupFailed: () => this.#updateRunning(c.name, containerID, { startupFailed: true }),
    });
    if (!result.ok && result.stage === 'config') {
      this.#runLogs.delete(containerID); // no run was made
      const config = this.#failed('CreateContainerConfigError', result.message, rec.config, now);
      this.#records.set(rec.name, { ...rec, image, config });
      this.#ctx.log(`pod ${this.key}: container ${c.name}: ${result.message}`);
      return;
    }
    if (!result.ok) {
      this.#records.set(rec.name, {
        ...rec,
        image,
        restartCount,
        last: {
          containerID,
          exitCode: 128,
          reason: 'StartError',
          message: result.message,
          startedAt: now,
          finishedAt: now,
        },
        ...(rec.last === undefined ? {} : { previous: rec.last }),
        ...(crashBackoffMs === undefined ? {} : { crashBackoffMs }),
        pull: undefined,
        config: undefined,
      });
      this.#ctx.log(`pod ${this.key}: container ${c.name}: ${result.message}`);
      return;
    }
    const { handle, probes } = result;
    const status = probes?.status() ?? { started: true, ready: true, live: true };
    this.#records.set(rec.name, {
      ...rec,
      image,
      restartCount,
      running: { containerID, startedAt: handle.startedAt.getTime(), ...status, startupFailed: false },
      ...(crashBackoffMs === undefined ? {} : { crashBackoffMs }),
      pull: undefined,
      config: undefined,
    });
    this.#live.set(rec.name, { containerID, handle, probes });
    handle.exited.then(
      (exit) => this.#onExit(rec.name, containerID, exit),
      (err: unknown) => this.#ctx.log(`pod ${this.key}: container ${c.name}: ${messageOf(err)}`),
    );
    probes?.start();
    this.#ctx.log(
      `pod ${this.key}: started container ${c.name} (pid ${handle.pid}, restart ${restartCount})`,
    );
  }

  #updateRunning(
    name: string,
    containerID: string,
    change: Partial<ContainerProbeStatus & { startupFailed: boolean }>,
  ): void {
    const rec = this.#records.get(name);
    if (rec?.running?.containerID !== containerID) return;
    this.#records.set(name, { ...rec, running: { ...rec.running, ...change } });
    this.#requeue();
  }

  #onProbeStatus(name: string, containerID: string, s: ContainerProbeStatus): void {
    this.#updateRunning(name, containerID, { started: s.started, ready: s.ready, live: s.live });
  }

  #onExit(name: string, containerID: string, exit: ContainerExit): void {
    const live = this.#live.get(name);
    if (live?.containerID !== containerID) return;
    this.#live.delete(name);
    live.probes?.stop().catch(() => undefined);
    const rec = this.#records.get(name);
    const running = rec?.running;
    if (rec === undefined || running?.containerID !== containerID) return;
    const exitCode = exitCodeOf(exit);
    this.#records.set(name, {
      ...rec,
      running: undefined,
      last: {
        containerID,
        exitCode,
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt: running.startedAt,
        finishedAt: Date.now(),
      },
      ...(rec.last === undefined ? {} : { previous: rec.last }),
    });
    const why = running.stopping === undefined ? '' : ` (stopped: ${running.stopping})`;
    this.#ctx.log(`pod ${this.key}: container ${name} exited ${exitCode}${why}`);
    this.#requeue();
  }

  /** Asks a running container to stop (SIGTERM, SIGKILL after `graceSeconds`); its exit is recorded by #onExit. */
  #stop(name: string, reason: StopReason, graceSeconds: number): Promise<ContainerExit> | undefined {
    const live = this.#live.get(name);
    const rec = this.#records.get(name);
    if (live === undefined) return undefined;
    if (rec?.running !== undefined && rec.running.stopping === undefined) {
      this.#records.set(name, { ...rec, running: { ...rec.running, stopping: reason } });
      if (reason !== 'pod')
        this.#ctx.log(`pod ${this.key}: killing container ${name}: ${reason} probe failed`);
    }
    live.probes?.stop().catch(() => undefined);
    const stopped = live.handle.stop(graceSeconds);
    stopped.catch((err: unknown) => this.#ctx.log(`pod ${this.key}: stopping ${name}: ${messageOf(err)}`));
    return stopped;
  }

  /**
   * Starts the teardown with `graceSeconds` for the containers, or shortens one in progress. When it ends the pod
   * is synced again; a failed teardown is retried by the next sync.
   */
  #beginTeardown(graceSeconds: number): void {
    if (this.#tornDown) return;
    const deadline = Date.now() + graceSeconds * 1000;
    const current = this.#teardown;
    if (current !== undefined) {
      if (deadline < current.deadline) {
        current.deadline = deadline;
        for (const name of this.#live.keys()) void this.#stop(name, 'pod', graceSeconds);
      }
      return;
    }
    const promise = this.#tearDown(graceSeconds).then(
      () => {
        this.#tornDown = true;
        this.#ctx.log(`pod ${this.key}: torn down`);
        this.#requeue();
      },
      (err: unknown) => {
        this.#teardown = undefined;
        this.#ctx.log(`pod ${this.key}: teardown failed (retrying): ${messageOf(err)}`);
        this.#requeue(1_000);
      },
    );
    this.#teardown = { deadline, promise };
  }

  /** Stops every container (grace, then SIGKILL), then CNI DEL and the netns, then the volumes and pod dir. */
  async #tearDown(graceSeconds: number): Promise<void> {
    const stops = [...this.#live.keys()].flatMap((name) => this.#stop(name, 'pod', graceSeconds) ?? []);
    const exits = [...this.#live.entries()].map(async ([name, live]) => {
      const exit = await live.handle.exited;
      this.#onExit(name, live.containerID, exit);
    });
    await Promise.allSettled(stops);
    await Promise.all(exits);
    if (this.#sandbox !== undefined) {
      await removeSandbox(this.#sandbox);
      this.#sandbox = undefined;
    }
    await removeVolumes(this.#podDir());
    await rm(this.#podDir(), { recursive: true, force: true });
  }
}

function isTerminalPhase(phase: string | undefined): boolean {
  return phase === 'Succeeded' || phase === 'Failed';
}
