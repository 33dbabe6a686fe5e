// The one error type the box throws, with a string `code` per failure kind.

export type BoxErrorCode =
  | 'ERR_BOX_PREREQUISITE' // not root, or a tool, the CNI plugins or the kube-proxy binary is missing
  | 'ERR_BOX_INVALID_OPTION' // startBox was given an option it cannot use
  | 'ERR_BOX_BUILD' // e2e/components/build.sh could not build kube-proxy or CoreDNS
  | 'ERR_BOX_NODE' // a node did not come up: no Node object, or no pod CIDR, in time
  | 'ERR_BOX_KUBE_PROXY' // a kube-proxy exited or did not become ready in time
  | 'ERR_BOX_CLUSTER_DNS' // the CoreDNS Deployment did not become Available in time
  | 'ERR_BOX_API' // the apiserver answered a request of the box with an unexpected status
  | 'ERR_BOX_KUBECTL' // a kubectl command the box ran (installing Ambit) exited non-zero
  | 'ERR_BOX_AMBIT' // Ambit's install did not become Ready in time (the message carries what was seen)
  | 'ERR_BOX_STOP'; // stop() finished but some step failed (each is in the cause)

export class BoxError extends Error {
  readonly code: BoxErrorCode;

  constructor(code: BoxErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BoxError';
    this.code = code;
  }
}
