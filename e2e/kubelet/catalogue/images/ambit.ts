// Ambit's own images (operator/src/render/release.ts: `ghcr.io/ambit-mesh/<component>:<version>`): each runs the
// entry point its Dockerfile names, from this checkout, on the repo's pinned node (DESIGN §8: the box runs what a
// cluster runs; this machine cannot build images). Any tag matches, so a Mesh that pins a version still runs here.
import { existsSync } from 'node:fs';
import type { CatalogueEntry } from '../catalogue.ts';
import { pinnedNode, programPath, repoPath } from '../program.ts';

/** RELEASE_IMAGE_REGISTRY in operator/src/render/release.ts (e2e imports nothing from the product). */
export const AMBIT_IMAGE_REGISTRY = 'ghcr.io/ambit-mesh';

/** Entry points, relative to the repository root, as the Dockerfiles' ENTRYPOINT names them. */
export const AMBIT_ENTRY_POINTS = {
  operator: 'operator/src/main.ts',
  ztunnel: 'dataplane/ztunnel/src/main.ts',
  'node-agent': 'dataplane/node-agent/src/main.ts',
  waypoint: 'dataplane/waypoint/src/main.ts',
  // The ingress gateway (issue 10, dataplane/waypoint/Dockerfile.gateway). In a checkout without it the image's
  // pods crash with a log line saying so (programs/entry-point-missing.ts) rather than running something else.
  gateway: 'dataplane/waypoint/src/gateway/main.ts',
} as const;

export type AmbitComponent = keyof typeof AMBIT_ENTRY_POINTS;

function entry(component: AmbitComponent, command: readonly string[], note = ''): CatalogueEntry {
  return {
    repositories: [`${AMBIT_IMAGE_REGISTRY}/${component}`],
    program: { command },
    description: `${AMBIT_IMAGE_REGISTRY}/${component} (${AMBIT_ENTRY_POINTS[component]}${note})`,
  };
}

/** An image whose ENTRYPOINT is `node <entry point>`; a missing entry point gives the explaining stub. */
function nodeEntry(component: AmbitComponent): CatalogueEntry {
  const main = repoPath(AMBIT_ENTRY_POINTS[component]);
  if (!existsSync(main)) {
    return entry(
      component,
      [pinnedNode(), programPath('entry-point-missing.ts'), `${AMBIT_IMAGE_REGISTRY}/${component}`, main],
      ', not written yet',
    );
  }
  return entry(component, [pinnedNode(), main]);
}

export const ambitOperator = (): CatalogueEntry => nodeEntry('operator');
export const ambitZtunnel = (): CatalogueEntry => nodeEntry('ztunnel');
export const ambitWaypoint = (): CatalogueEntry => nodeEntry('waypoint');
export const ambitGateway = (): CatalogueEntry => nodeEntry('gateway');

/**
 * The node agent's image: its entry point plus the CNI install step the DaemonSet's CNI_BIN_DIR and CNI_CONF_DIR
 * (hostPath /opt/cni/bin and /etc/cni/net.d) are there for, which the node agent does not do itself yet; see
 * programs/ambit-node-agent.ts.
 */
export const ambitNodeAgent = (): CatalogueEntry =>
  entry(
    'node-agent',
    [pinnedNode(), programPath('ambit-node-agent.ts')],
    ', with the CNI plugin install step',
  );
