// Pure: the Node and Lease objects a kubelet registers and keeps fresh, with its status and heartbeat patches.
import type { V1Node } from '@kubernetes/client-node';
import { apiTime, microTime } from './api-time.ts';

export const KUBELET_VERSION = 'v1.34.4';
export const CONTAINER_RUNTIME_VERSION = 'ambit-box://0.1';
/** Where the kubelet API listens (daemonEndpoints.kubeletEndpoint.Port); the apiserver proxies logs/exec there. */
export const KUBELET_PORT = 10250;
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** What the kubelet puts in its Lease (the node lifecycle controller reads renewTime against it). */
export const LEASE_DURATION_SECONDS = 40;

/** What the box's nodes advertise unless told otherwise. */
export const DEFAULT_CAPACITY: Readonly<Record<string, string>> = {
  cpu: '4',
  memory: '16Gi',
  pods: '110',
  'ephemeral-storage': '100Gi',
};

/** Facts about the node that do not change while the kubelet runs. */
export interface NodeFacts {
  readonly nodeName: string;
  readonly nodeIP: string;
  /** capacity = allocatable (the box reserves nothing). */
  readonly capacity: Readonly<Record<string, string>>;
  readonly machineID: string;
  readonly systemUUID: string;
  /** New on every kubelet start, as after a reboot. */
  readonly bootID: string;
  readonly kernelVersion: string;
  readonly osImage: string;
}

/** Labels a kubelet may set on its own Node under NodeRestriction. */
export function nodeLabels(nodeName: string): Record<string, string> {
  return {
    'kubernetes.io/hostname': nodeName,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
  };
}

/** The node's status: capacity, conditions (Ready, no pressure), addresses, versions, the kubelet port. */
export function nodeStatus(f: NodeFacts, readySince: number, now: number): Record<string, unknown> {
  const cond = (
    type: string,
    status: 'True' | 'False',
    reason: string,
    message: string,
  ): Record<string, string> => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: apiTime(now),
    lastTransitionTime: apiTime(readySince),
  });
  return {
    capacity: { ...f.capacity },
    allocatable: { ...f.capacity },
    conditions: [
      cond(
        'MemoryPressure',
        'False',
        'KubeletHasSufficientMemory',
        'kubelet has sufficient memory available',
      ),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: f.nodeIP },
      { type: 'Hostname', address: f.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } },
    nodeInfo: {
      machineID: f.machineID,
      systemUUID: f.systemUUID,
      bootID: f.bootID,
      kernelVersion: f.kernelVersion,
      osImage: f.osImage,
      containerRuntimeVersion: CONTAINER_RUNTIME_VERSION,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

/** The Node to create: labels and status; spec.podCIDR is the controller-manager's to set. */
export function nodeManifest(f: NodeFacts, readySince: number, now: number): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: f.nodeName, labels: nodeLabels(f.nodeName) },
    spec: {},
    status: nodeStatus(f, readySince, now),
  };
}

/** The node's heartbeat Lease, owned by the Node so that deleting the Node deletes it. */
export function leaseManifest(nodeName: string, nodeUid: string, now: number): Record<string, unknown> {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }],
    },
    spec: {
      holderIdentity: nodeName,
      leaseDurationSeconds: LEASE_DURATION_SECONDS,
      renewTime: microTime(now),
    },
  };
}

/** A renewal: only renewTime moves. */
export function leaseRenewal(nodeName: string, now: number): Record<string, unknown> {
  return {
    spec: {
      holderIdentity: nodeName,
      leaseDurationSeconds: LEASE_DURATION_SECONDS,
      renewTime: microTime(now),
    },
  };
}
