// Plain data the pod worker keeps per container: its runs, probe results and back-off; read by plan and status.

/** One run of a container that has ended. */
export interface TerminatedRun {
  /** `ambit-box://<64 hex>`. */
  readonly containerID: string;
  /** The exit status; 128 + n when killed by signal n (as runtimes report it). */
  readonly exitCode: number;
  /** `Completed` (exit 0), `Error`, or `StartError` (the launcher never ran the program). */
  readonly reason: string;
  readonly message?: string;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly finishedAt: number;
}

/** Why the kubelet is stopping a running container. */
export type StopReason = 'liveness' | 'startup' | 'pod';

/** The run in progress. */
export interface RunningRun {
  readonly containerID: string;
  readonly startedAt: number;
  /** Probe-derived, as ContainerProbes reports them (no probe: started and ready at once). */
  readonly started: boolean;
  readonly ready: boolean;
  readonly live: boolean;
  /** The startup probe reached its failure threshold: the container must be restarted. */
  readonly startupFailed: boolean;
  /** Set once the kubelet asked it to stop. */
  readonly stopping?: StopReason;
}

/** A waiting state to report, with the kubelet's reason strings. */
export interface Waiting {
  readonly reason: string;
  readonly message?: string;
}

/** A failed attempt that did not run the container (image pull, config), retried with back-off. */
export interface FailedAttempt {
  readonly reason: string;
  readonly message: string;
  /** Epoch ms of the attempt. */
  readonly at: number;
  readonly backoffMs: number;
}

export type ContainerKind = 'init' | 'sidecar' | 'regular';

/** Everything the kubelet knows about one container of a pod. */
export interface ContainerRecord {
  readonly name: string;
  readonly kind: ContainerKind;
  /** Starts so far minus one (0 before and after the first start). */
  readonly restartCount: number;
  /** What the runtime reports once an image resolved: the normalised reference and its ID. */
  readonly image?: { readonly ref: string; readonly id: string };
  readonly running?: RunningRun;
  /** The latest ended run, and the one before it (lastState when the latest is the current state). */
  readonly last?: TerminatedRun;
  readonly previous?: TerminatedRun;
  /** Crash-loop back-off in force since the latest exit; undefined before the first restart. */
  readonly crashBackoffMs?: number;
  /** The latest failed image pull. */
  readonly pull?: FailedAttempt;
  /** The latest failed container creation (CreateContainerConfigError). */
  readonly config?: FailedAttempt;
}

export function emptyRecord(name: string, kind: ContainerKind): ContainerRecord {
  return { name, kind, restartCount: 0 };
}

/** `ambit-box://` is the runtime's scheme in containerIDs (as `containerd://`). */
export const CONTAINER_ID_SCHEME = 'ambit-box://';
