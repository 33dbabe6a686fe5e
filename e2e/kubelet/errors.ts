// The one error type the fake kubelet throws, with a string `code` per failure kind.

export type KubeletErrorCode =
  | 'ERR_KUBELET_TOOL' // a system tool (ip, unshare, mount, nsenter, sh) is missing
  | 'ERR_KUBELET_COMMAND' // a system tool exited non-zero or timed out
  | 'ERR_CNI_CONFIG' // the node's CNI config directory has no usable conflist
  | 'ERR_CNI_PLUGIN' // a CNI plugin answered with an error (its name and CNI code are on the error)
  | 'ERR_CNI_PLUGIN_NOT_FOUND' // no executable of the plugin's `type` in CNI_PATH
  | 'ERR_CNI_RESULT' // a plugin's result could not be parsed or gave the pod no address
  | 'ERR_SANDBOX_EXISTS' // the pod's network namespace already exists
  | 'ERR_SANDBOX_INVALID' // the sandbox request is inconsistent (e.g. hostNetwork without a host IP)
  | 'ERR_VOLUME_NOT_FOUND' // a volumeMount names a volume the pod does not have
  | 'ERR_VOLUME_UNSUPPORTED' // a volume type or projected source the fake kubelet does not implement
  | 'ERR_VOLUME_SOURCE_MISSING' // a non-optional ConfigMap or Secret does not exist
  | 'ERR_VOLUME_KEY_MISSING' // an item names a key its non-optional ConfigMap or Secret lacks
  | 'ERR_VOLUME_INVALID_PATH' // a subPath or item path is absolute or climbs out with `..`
  | 'ERR_ENV_REF_MISSING' // an env var refers to a missing non-optional ConfigMap/Secret or key
  | 'ERR_FIELD_UNSUPPORTED' // a fieldRef / resourceFieldRef path the kubelet does not know
  | 'ERR_QUANTITY_INVALID' // a resource quantity string does not parse
  | 'ERR_CONTAINER_START' // the container's launcher failed (mounts, working dir, command not found)
  | 'ERR_PROBE_UNSUPPORTED' // a probe handler the fake kubelet does not implement (gRPC)
  | 'ERR_PROBER_EXITED' // the node's probe agent process exited with probes in flight
  | 'ERR_KUBE_CONFIG' // the kubelet's kubeconfig cannot be loaded or has no current cluster
  | 'ERR_KUBE_API' // an apiserver request failed (the HTTP status is on KubeApiError)
  | 'ERR_NODE_REGISTRATION' // the Node could not be registered or got no podCIDR in time
  | 'ERR_KUBELET_SERVER' // the kubelet server (exec, logs, port-forward) or its runtime socket did not start
  | 'ERR_IMAGE_NOT_IN_CATALOGUE' // a container image the box's image catalogue has no program for
  | 'ERR_CATALOGUE_INVALID'; // a catalogue entry or program is unusable (relative path, no pinned node binary)

export class KubeletError extends Error {
  readonly code: KubeletErrorCode;

  constructor(code: KubeletErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KubeletError';
    this.code = code;
  }
}

/** A CNI plugin's error result (CNI spec "Error"), with the plugin that produced it. */
export class CniError extends KubeletError {
  /** The plugin's `type`, e.g. `bridge`. */
  readonly plugin: string;
  /** The CNI error code (1-99 are the spec's, e.g. 7 = invalid network config); undefined if none was parsed. */
  readonly cniCode: number | undefined;

  constructor(plugin: string, cniCode: number | undefined, message: string, options?: ErrorOptions) {
    super('ERR_CNI_PLUGIN', message, options);
    this.name = 'CniError';
    this.plugin = plugin;
    this.cniCode = cniCode;
  }
}

/** A failed apiserver request: the HTTP status (0 when no response came) and the Status reason, if any. */
export class KubeApiError extends KubeletError {
  readonly status: number;
  /** The Status `reason`, e.g. `NotFound`, `Conflict`, `Forbidden`. */
  readonly reason: string | undefined;

  constructor(status: number, reason: string | undefined, message: string, options?: ErrorOptions) {
    super('ERR_KUBE_API', message, options);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

/** Whether `err` is an apiserver answer with one of the given HTTP statuses. */
export function isApiStatus(err: unknown, ...statuses: readonly number[]): boolean {
  return err instanceof KubeApiError && statuses.includes(err.status);
}
