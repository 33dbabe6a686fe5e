// Pure: which run of a container `kubectl logs [--previous]` shows, from the pod status the kubelet reports
// (kubelet validateContainerLogStatus, the same rules and messages).

/** The parts of a container status the choice reads (ApiContainerStatus and client-node's V1ContainerStatus fit). */
export interface LogContainerStatus {
  readonly name: string;
  readonly containerID?: string;
  readonly state?: {
    readonly running?: unknown;
    readonly waiting?: { readonly reason?: string };
    readonly terminated?: { readonly containerID?: string };
  };
  readonly lastState?: { readonly terminated?: { readonly containerID?: string } };
}

export interface LogPodStatus {
  readonly containerStatuses?: readonly LogContainerStatus[];
  readonly initContainerStatuses?: readonly LogContainerStatus[];
}

export type LogRunChoice =
  { readonly ok: true; readonly containerID: string } | { readonly ok: false; readonly message: string };

/**
 * The containerID whose log to read, or the kubelet's message why there is none:
 * 1. `previous`: lastState.terminated;
 * 2. running: the running one;
 * 3. terminated: that run (or lastState's when it never started);
 * 4. waiting after a run (crash-loop back-off): lastState's;
 * 5. waiting without one: "is waiting to start", naming image pull failures.
 */
export function chooseLogRun(
  podName: string,
  status: LogPodStatus | undefined,
  container: string,
  previous: boolean,
): LogRunChoice {
  const c =
    status?.containerStatuses?.find((s) => s.name === container) ??
    status?.initContainerStatuses?.find((s) => s.name === container);
  const fail = (message: string): LogRunChoice => ({ ok: false, message });
  const id = (containerID: string): LogRunChoice => ({ ok: true, containerID });
  const what = `container "${container}" in pod "${podName}"`;
  if (c === undefined) return fail(`${what} is not available`);
  const last = c.lastState?.terminated;
  const { waiting, running, terminated } = c.state ?? {};
  if (previous) {
    if (last?.containerID === undefined || last.containerID === '') {
      return fail(`previous terminated ${what} not found`);
    }
    return id(last.containerID);
  }
  if (running !== undefined && running !== null) return id(c.containerID ?? '');
  if (terminated !== undefined) {
    if (terminated.containerID !== undefined && terminated.containerID !== '')
      return id(terminated.containerID);
    if (last?.containerID !== undefined && last.containerID !== '') return id(last.containerID);
    return fail(`${what} is terminated`);
  }
  if (last !== undefined) {
    if (last.containerID === undefined || last.containerID === '') return fail(`${what} is terminated`);
    return id(last.containerID);
  }
  if (waiting !== undefined) {
    switch (waiting.reason) {
      case 'ErrImagePull':
        return fail(`${what} is waiting to start: image can't be pulled`);
      case 'ImagePullBackOff':
        return fail(`${what} is waiting to start: trying and failing to pull image`);
      default:
        return fail(`${what} is waiting to start: ${waiting.reason ?? ''}`);
    }
  }
  return fail(`${what} is waiting to start - no logs yet`);
}
