// Plain types shared by the runtime pieces (sandbox, volumes, env, containers).

/** One bind mount into a container's private mount namespace. */
export interface ContainerMount {
  /** A file or directory on the host (usually under the pod's work dir). */
  readonly hostPath: string;
  /** Absolute path inside the container. */
  readonly mountPath: string;
  readonly readOnly: boolean;
}

/** One resolved environment variable. */
export interface EnvVar {
  readonly name: string;
  readonly value: string;
}

/** The identity of a pod, as its sandbox and CNI see it. */
export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}
