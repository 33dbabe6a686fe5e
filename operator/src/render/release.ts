// The release the checked-in manifests describe: `make manifests` renders with these facts, and the operator uses
// them for the default images of the components it installs.
import type { ClusterFacts } from './contract.ts';

/** Version of this release; the tag of every default image. */
export const RELEASE_VERSION = '0.1.0';
/** Registry and repository prefix of the released images. */
export const RELEASE_IMAGE_REGISTRY = 'ghcr.io/ambit-mesh';

export const RELEASE_FACTS: ClusterFacts = {
  version: RELEASE_VERSION,
  imageRegistry: RELEASE_IMAGE_REGISTRY,
};
