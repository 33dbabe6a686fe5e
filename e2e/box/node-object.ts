// The Node and Lease objects a kubelet registers and keeps fresh, for nodes that have no kubelet yet (no I/O).

/** What the box knows about a node it registers itself. */
export interface NodeFacts {
  readonly box: string;
  readonly name: string;
  /** Underlay address: the node's InternalIP. */
  readonly ip: string;
  /** `amd64`, `arm64`, … (Go's names). */
  readonly architecture: string;
  readonly kernelVersion: string;
}

/** Seconds the node lifecycle controller trusts a lease renewal (the kubelet's default). */
export const LEASE_DURATION_SECONDS = 40;
/** How often the lease is renewed (the kubelet renews at a quarter of the duration). */
export const LEASE_RENEW_MS = 10_000;
/** How often the Ready condition's heartbeat is refreshed (the kubelet reports at least every 5 minutes). */
export const STATUS_REFRESH_MS = 60_000;
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** Labelled on every Node the box itself registers; nodes registered by a kubelet hook do not carry it. */
export const REGISTERED_BY_BOX_LABEL = 'ambit.dev/registered-by';

/** A fake node's resources: enough for the scheduler to place a walkthrough's worth of pods. */
export const NODE_CAPACITY: Readonly<Record<string, string>> = {
  cpu: '4',
  memory: '8Gi',
  pods: '110',
  'ephemeral-storage': '20Gi',
};

/** Node.js `process.arch` → the GOARCH a kubelet reports. */
export function goArch(nodeArch: string): string {
  const map: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  return map[nodeArch] ?? nodeArch;
}

/** A Kubernetes MicroTime (RFC 3339 with exactly six fractional digits), as Leases require. */
export function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** RFC 3339 with seconds, as Node conditions carry. */
export function rfc3339(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface NodeCondition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
  readonly lastHeartbeatTime: string;
  readonly lastTransitionTime: string;
}

/** The status a healthy kubelet reports, minus images and volumes; `since` is when the node became Ready. */
export function nodeStatus(f: NodeFacts, now: Date, since: Date): Record<string, unknown> {
  const condition = (
    type: string,
    status: 'True' | 'False',
    reason: string,
    message: string,
  ): NodeCondition => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: rfc3339(now),
    lastTransitionTime: rfc3339(since),
  });
  return {
    conditions: [
      condition(
        'MemoryPressure',
        'False',
        'KubeletHasSufficientMemory',
        'kubelet has sufficient memory available',
      ),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      condition(
        'Ready',
        'True',
        'KubeletReady',
        `registered by box ${f.box}: no kubelet runs on this node yet`,
      ),
    ],
    addresses: [
      { type: 'InternalIP', address: f.ip },
      { type: 'Hostname', address: f.name },
    ],
    capacity: NODE_CAPACITY,
    allocatable: NODE_CAPACITY,
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: f.kernelVersion,
      osImage: `ambit box ${f.box}`,
      containerRuntimeVersion: 'ambit-box://0.0.0',
      kubeletVersion: 'v1.34.4',
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: f.architecture,
    },
  };
}

/** The Node as a kubelet registers it (status included: the apiserver keeps a Node's status on create). */
export function nodeObject(f: NodeFacts, now: Date): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: f.name,
      labels: {
        'kubernetes.io/hostname': f.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': f.architecture,
        [REGISTERED_BY_BOX_LABEL]: 'ambit-box',
      },
    },
    spec: {},
    status: nodeStatus(f, now, now),
  };
}

/** The node's heartbeat Lease in `kube-node-lease`, owned by its Node as the kubelet makes it. */
export function leaseObject(name: string, nodeUid: string, now: Date): Record<string, unknown> {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: nodeUid }],
    },
    spec: { holderIdentity: name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(now) },
  };
}

/** A merge patch that renews the lease. */
export function leaseRenewal(now: Date): Record<string, unknown> {
  return { spec: { renewTime: microTime(now) } };
}
