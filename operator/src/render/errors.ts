// Errors of rendering: inputs that cannot become manifests. Rendering is pure, so each is a bug or bad input.

export type RenderErrorCode =
  /** An owner (Mesh, Gateway) without name, uid or (Gateway) namespace: only objects read from the apiserver own. */
  | 'ERR_RENDER_OWNER_METADATA'
  /** cdk8s bookkeeping (a `cdk8s.io/` key) would reach the cluster. */
  | 'ERR_RENDER_CDK8S_KEY'
  /** A setting the reconciler should have refused (it admits a Gateway only with valid ones). */
  | 'ERR_RENDER_SETTINGS';

export class RenderError extends Error {
  readonly code: RenderErrorCode;

  constructor(code: RenderErrorCode, message: string) {
    super(message);
    this.name = 'RenderError';
    this.code = code;
  }
}
