// Unit tests: Ambit's images resolve to the entry points their Dockerfiles name, and the install manifests' images
// are all in the box's catalogue.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { defaultCatalogue, pinnedNode, programPath, repoPath } from '../index.ts';
import { AMBIT_ENTRY_POINTS, AMBIT_IMAGE_REGISTRY, type AmbitComponent } from './ambit.ts';

const catalogue = defaultCatalogue();

describe("Ambit's images", () => {
  it.each(['operator', 'ztunnel', 'waypoint'] as const)(
    '%s runs its entry point on the pinned node, any tag',
    (c) => {
      for (const tag of ['0.1.0', 'latest', 'dev']) {
        expect(catalogue.resolve(`${AMBIT_IMAGE_REGISTRY}/${c}:${tag}`)?.program.command).toEqual([
          pinnedNode(),
          repoPath(AMBIT_ENTRY_POINTS[c]),
        ]);
      }
      expect(existsSync(repoPath(AMBIT_ENTRY_POINTS[c]))).toBe(true);
    },
  );

  it('names the entry points of the Dockerfiles', () => {
    const dockerfiles: Record<AmbitComponent, string> = {
      operator: 'operator/Dockerfile',
      ztunnel: 'dataplane/ztunnel/Dockerfile',
      'node-agent': 'dataplane/node-agent/Dockerfile',
      waypoint: 'dataplane/waypoint/Dockerfile',
      gateway: 'dataplane/waypoint/Dockerfile.gateway',
    };
    for (const [c, file] of Object.entries(dockerfiles) as [AmbitComponent, string][]) {
      if (!existsSync(repoPath(file))) continue;
      expect(readFileSync(repoPath(file), 'utf8'), file).toContain(
        `ENTRYPOINT ["node", "${AMBIT_ENTRY_POINTS[c]}"]`,
      );
    }
  });

  it('runs the node agent with its CNI install step', () => {
    expect(catalogue.resolve(`${AMBIT_IMAGE_REGISTRY}/node-agent:0.1.0`)?.program.command).toEqual([
      pinnedNode(),
      programPath('ambit-node-agent.ts'),
    ]);
  });

  it('runs the gateway entry point, or a stub saying it is missing', () => {
    const command = catalogue.resolve(`${AMBIT_IMAGE_REGISTRY}/gateway:0.1.0`)?.program.command ?? [];
    const main = repoPath(AMBIT_ENTRY_POINTS.gateway);
    expect(command).toEqual(
      existsSync(main)
        ? [pinnedNode(), main]
        : [pinnedNode(), programPath('entry-point-missing.ts'), `${AMBIT_IMAGE_REGISTRY}/gateway`, main],
    );
  });

  it('knows every image of manifests/install.yaml', () => {
    const images = parseAllDocuments(readFileSync(repoPath('manifests/install.yaml'), 'utf8'))
      .map(
        (d) =>
          d.toJS() as {
            kind?: string;
            spec?: { template?: { spec?: { containers?: { image: string }[] } } };
          },
      )
      .flatMap((o) => o.spec?.template?.spec?.containers?.map((c) => c.image) ?? []);
    expect(images).toEqual([expect.stringMatching(/^ghcr\.io\/ambit-mesh\/operator:/)]);
    for (const image of images) expect(catalogue.resolve(image), image).toBeDefined();
  });
});
