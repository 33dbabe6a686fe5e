// Runs a container's probes: HTTP/TCP from the node's probe agent, exec inside the container, on the kubelet's clock.
import { setTimeout as sleepTimer } from 'node:timers/promises';
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import type { ExecResult } from './container.ts';
import { KubeletError } from './errors.ts';
import {
  firstProbeDelayMs,
  initialProbeState,
  nextProbeDelayMs,
  observeProbe,
  probeTiming,
  type ProbeKind,
  type ProbeOutcome,
  type ProbeResult,
  type ProbeState,
  type ProbeTiming,
} from './probe-state.ts';
import type { NodeProber } from './prober.ts';

/** One probe attempt with its deadline. */
export type ProbeRunner = (
  timeoutMs: number,
) => Promise<{ readonly outcome: ProbeOutcome; readonly detail: string }>;

/** Where a container's probes go. */
export interface ProbeTarget {
  readonly podIP: string;
  /** For named ports. */
  readonly container: V1Container;
  readonly prober: NodeProber;
  /** Exec probes run here (ContainerHandle.exec); without it they are unsupported. */
  readonly exec?: (command: readonly string[], opts: { readonly timeoutMs: number }) => Promise<ExecResult>;
}

/** A port given as a number, a numeric string or a container port name. */
export function resolvePort(port: number | string, container: V1Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = (container.ports ?? []).find((p) => p.name === port);
  if (named === undefined) {
    throw new KubeletError('ERR_PROBE_UNSUPPORTED', `container ${container.name} has no port named ${port}`);
  }
  return named.containerPort;
}

/** The attempt a probe spec describes; gRPC (and a probe without a handler) throws ERR_PROBE_UNSUPPORTED. */
export function probeRunner(probe: V1Probe, t: ProbeTarget): ProbeRunner {
  const http = probe.httpGet;
  if (http !== undefined) {
    const port = resolvePort(http.port, t.container);
    const path =
      http.path === undefined || http.path === ''
        ? '/'
        : http.path.startsWith('/')
          ? http.path
          : `/${http.path}`;
    const scheme = (http.scheme ?? 'HTTP').toLowerCase() === 'https' ? 'https' : 'http';
    const headers = (http.httpHeaders ?? []).map((h) => [h.name, h.value] as const);
    return async (timeoutMs) => {
      const a = await t.prober.http({
        scheme,
        host: http.host === undefined || http.host === '' ? t.podIP : http.host,
        port,
        path,
        headers,
        timeoutMs,
      });
      return { outcome: a.ok ? 'success' : 'failure', detail: a.detail };
    };
  }
  const tcp = probe.tcpSocket;
  if (tcp !== undefined) {
    const port = resolvePort(tcp.port, t.container);
    return async (timeoutMs) => {
      const a = await t.prober.tcp({
        host: tcp.host === undefined || tcp.host === '' ? t.podIP : tcp.host,
        port,
        timeoutMs,
      });
      return { outcome: a.ok ? 'success' : 'failure', detail: a.detail };
    };
  }
  const exec = probe.exec;
  if (exec !== undefined) {
    const run = t.exec;
    if (run === undefined)
      throw new KubeletError('ERR_PROBE_UNSUPPORTED', 'exec probe without a container to run in');
    return async (timeoutMs) => {
      const r = await run(exec.command ?? [], { timeoutMs });
      if (r.timedOut) return { outcome: 'failure', detail: `timeout after ${timeoutMs} ms` };
      return {
        outcome: r.code === 0 ? 'success' : 'failure',
        detail: `exit ${String(r.code)}: ${r.output.slice(0, 200)}`,
      };
    };
  }
  throw new KubeletError(
    'ERR_PROBE_UNSUPPORTED',
    `probe kind ${probe.grpc === undefined ? '(none)' : 'grpc'} is not supported`,
  );
}

export interface ProbeEvent {
  readonly kind: ProbeKind;
  readonly outcome: ProbeOutcome;
  readonly detail: string;
  /** The reported result changed with this attempt. */
  readonly changed: boolean;
  readonly state: ProbeState;
}

export interface ProbeClock {
  readonly now: () => number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

export const REAL_CLOCK: ProbeClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepTimer(ms, undefined, { signal }).catch(() => undefined),
};

export interface ProbeWorkerOptions {
  readonly kind: ProbeKind;
  readonly probe: V1Probe;
  readonly runner: ProbeRunner;
  /** Every attempt, with the state after it. */
  readonly onProbe?: (e: ProbeEvent) => void;
  /** @default REAL_CLOCK */
  readonly clock?: ProbeClock;
}

/** One probe of one container: waits initialDelaySeconds, then probes every periodSeconds until stopped or on hold. */
export class ProbeWorker {
  readonly kind: ProbeKind;
  readonly timing: ProbeTiming;
  #state: ProbeState;
  readonly #o: ProbeWorkerOptions;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(o: ProbeWorkerOptions) {
    this.kind = o.kind;
    this.timing = probeTiming(o.probe);
    this.#state = initialProbeState(o.kind);
    this.#o = o;
  }

  get state(): ProbeState {
    return this.#state;
  }

  get result(): ProbeResult {
    return this.#state.result;
  }

  /** Starts probing; `delayMs` overrides the initial delay (e.g. what is left of it). */
  start(delayMs: number = firstProbeDelayMs(this.timing)): void {
    this.#loop ??= this.#run(delayMs);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }

  async #run(delayMs: number): Promise<void> {
    const clock = this.#o.clock ?? REAL_CLOCK;
    const signal = this.#abort.signal;
    await clock.sleep(delayMs, signal);
    while (!signal.aborted) {
      const startedAt = clock.now();
      let attempt: { outcome: ProbeOutcome; detail: string };
      try {
        attempt = await this.#o.runner(this.timing.timeoutSeconds * 1000);
      } catch (err) {
        attempt = { outcome: 'failure', detail: err instanceof Error ? err.message : String(err) };
      }
      if (signal.aborted) return;
      const { state, changed } = observeProbe(this.kind, this.timing, this.#state, attempt.outcome);
      this.#state = state;
      this.#o.onProbe?.({ kind: this.kind, ...attempt, changed, state });
      if (state.onHold) return; // the container must be restarted; a new worker probes the new one
      if (this.kind === 'startup' && state.result === 'success') return; // started: startup probes end
      await clock.sleep(nextProbeDelayMs(this.timing, startedAt, clock.now()), signal);
    }
  }
}

/** What the kubelet reports for a container from its probes (a probe it does not have counts as passing). */
export interface ContainerProbeStatus {
  readonly started: boolean;
  readonly ready: boolean;
  /** False once liveness failed: the container is to be restarted. */
  readonly live: boolean;
}

export interface ContainerProbesOptions {
  readonly container: V1Container;
  readonly target: ProbeTarget;
  readonly onProbe?: (e: ProbeEvent) => void;
  /** Called whenever the status changes. */
  readonly onStatus?: (s: ContainerProbeStatus) => void;
  readonly clock?: ProbeClock;
}

/**
 * A container's probes as the kubelet runs them: the startup probe first; liveness and readiness only once it has
 * succeeded (each then waits its own initialDelaySeconds, counted from the container's start).
 */
export class ContainerProbes {
  readonly #o: ContainerProbesOptions;
  readonly #workers = new Map<ProbeKind, ProbeWorker>();
  readonly #startedAt: number;
  #last: string | undefined;

  constructor(o: ContainerProbesOptions) {
    this.#o = o;
    this.#startedAt = (o.clock ?? REAL_CLOCK).now();
    const c = o.container;
    const specs: [ProbeKind, V1Probe | undefined][] = [
      ['startup', c.startupProbe],
      ['liveness', c.livenessProbe],
      ['readiness', c.readinessProbe],
    ];
    for (const [kind, probe] of specs) {
      if (probe === undefined) continue;
      this.#workers.set(
        kind,
        new ProbeWorker({
          kind,
          probe,
          runner: probeRunner(probe, o.target),
          onProbe: (e) => this.#onProbe(e),
          ...(o.clock === undefined ? {} : { clock: o.clock }),
        }),
      );
    }
  }

  status(): ContainerProbeStatus {
    const startup = this.#workers.get('startup');
    const started = startup === undefined || startup.result === 'success';
    const readiness = this.#workers.get('readiness');
    const liveness = this.#workers.get('liveness');
    return {
      started,
      ready: started && (readiness === undefined || readiness.result === 'success'),
      live: liveness === undefined || liveness.result !== 'failure',
    };
  }

  start(): void {
    const startup = this.#workers.get('startup');
    if (startup !== undefined) startup.start();
    else this.#startMain();
    this.#emitIfChanged();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#workers.values()].map((w) => w.stop()));
  }

  #startMain(): void {
    const now = (this.#o.clock ?? REAL_CLOCK).now();
    for (const kind of ['liveness', 'readiness'] as const) {
      const w = this.#workers.get(kind);
      if (w !== undefined) w.start(Math.max(0, this.#startedAt + firstProbeDelayMs(w.timing) - now));
    }
  }

  #onProbe(e: ProbeEvent): void {
    this.#o.onProbe?.(e);
    if (e.kind === 'startup' && e.changed && e.state.result === 'success') this.#startMain();
    this.#emitIfChanged();
  }

  #emitIfChanged(): void {
    const s = this.status();
    const key = JSON.stringify(s);
    if (key === this.#last) return;
    this.#last = key;
    this.#o.onStatus?.(s);
  }
}
