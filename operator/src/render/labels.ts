// The labels and owner references that tie rendered objects to Ambit and to the object that owns them.
import type { Gateway, Mesh, OwnerReference } from '@ambit/codegen/crds';
import { RenderError } from './errors.ts';

/** Recommended Kubernetes labels: which application and which component of it. */
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
export const PART_OF = 'ambit';
export const NAME_LABEL = 'app.kubernetes.io/name';

function controllerReference(owner: {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; uid?: string };
}): OwnerReference {
  const { name, uid } = owner.metadata;
  if (!name || !uid) {
    throw new RenderError(
      'ERR_RENDER_OWNER_METADATA',
      `${owner.kind.toLowerCase()} ${name ?? '(unnamed)'} has no metadata.uid: render only objects read from the apiserver`,
    );
  }
  // controller: the garbage collector deletes the objects with their owner, and no other controller adopts them.
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function meshOwnerReference(mesh: Mesh): OwnerReference {
  return controllerReference(mesh);
}

export function gatewayOwnerReference(gateway: Gateway): OwnerReference {
  return controllerReference(gateway);
}
