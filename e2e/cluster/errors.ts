// The one error type the cluster harness throws, with a string `code` per failure kind.

export type ClusterErrorCode =
  | 'ERR_CLUSTER_PREREQUISITE' // a tool needed to build or run the control plane is missing
  | 'ERR_CLUSTER_INVALID_OPTION' // startCluster was given an option it cannot use
  | 'ERR_CLUSTER_BUILD' // e2e/components/build.sh failed
  | 'ERR_CLUSTER_PROCESS_EXITED' // a component exited while we waited for it
  | 'ERR_CLUSTER_PORT_IN_USE' // a component could not bind its port (the caller retries with new ports)
  | 'ERR_CLUSTER_READY_TIMEOUT' // a component did not become ready in time
  | 'ERR_CLUSTER_API' // the apiserver answered a request with an unexpected status
  | 'ERR_CLUSTER_MANIFEST' // a manifest could not be parsed or mapped to a resource
  | 'ERR_CLUSTER_STOPPED'; // the cluster was used after stop()

export class ClusterError extends Error {
  readonly code: ClusterErrorCode;

  constructor(code: ClusterErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ClusterError';
    this.code = code;
  }
}
