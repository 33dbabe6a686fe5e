// Istio's bookinfo images (samples/bookinfo/platform/kube/bookinfo.yaml, any tag): one program, one role each.
import type { CatalogueEntry } from '../catalogue.ts';
import { nodeProgram } from '../program.ts';
import type { BookinfoRole } from '../programs/bookinfo-lib.ts';

/** The registries Istio has published the images under. */
const PREFIXES = ['registry.istio.io/release/examples-bookinfo-', 'docker.io/istio/examples-bookinfo-'];

const IMAGES: readonly [string, BookinfoRole][] = [
  ['details-v1', 'details'],
  ['ratings-v1', 'ratings'],
  ['reviews-v1', 'reviews-v1'],
  ['reviews-v2', 'reviews-v2'],
  ['reviews-v3', 'reviews-v3'],
  ['productpage-v1', 'productpage'],
];

export const bookinfo = (): CatalogueEntry[] =>
  IMAGES.map(([image, role]) => ({
    repositories: PREFIXES.map((p) => `${p}${image}`),
    program: nodeProgram('bookinfo.ts', [role]),
    description: `bookinfo ${image} (programs/bookinfo.ts ${role})`,
  }));
