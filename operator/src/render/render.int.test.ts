// Everything rendering emits, checked by a real kube-apiserver: the checked-in install and what a Mesh and a
// waypoint render to, applied server-side as a dry run with strict field validation (unknown fields fail). kubectl
// sends the objects as they are; a typed client would re-serialize them through its models (and, for CRDs, drop
// the `x-kubernetes-*` keys).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KubeObject } from './contract.ts';
import { renderMesh } from './mesh.ts';
import { toYamlDocuments } from './serialize.ts';
import { FACTS, mesh, waypointGateway } from './testing/fixtures.ts';
import { renderWaypoint } from './waypoint.ts';

const kubeconfig = inject('kubeconfigPath');
const waypointNamespace = `render-int-${process.pid}`;
const installYaml = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'manifests', 'install.yaml'),
  'utf8',
);

function kubectl(args: string[], input?: string): { ok: boolean; output: string } {
  const r = spawnSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { input, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** Server-side apply; with `dryRun`, the apiserver validates and admits but stores nothing. */
function apply(yaml: string, dryRun = true): { ok: boolean; output: string } {
  const args = ['apply', '--server-side', '--force-conflicts', '--field-manager=render-int-test', '-f', '-'];
  return kubectl(dryRun ? [...args, '--dry-run=server'] : args, yaml);
}

const namespace = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

beforeAll(() => {
  // Dry runs of namespaced objects need their namespace to exist.
  const created = apply(toYamlDocuments([namespace('ambit-system'), namespace(waypointNamespace)]), false);
  if (!created.ok) throw new Error(created.output);
});

afterAll(() => {
  kubectl(['delete', 'namespace', waypointNamespace, '--wait=false']);
});

describe('rendered objects on a real apiserver', () => {
  it('accepts manifests/install.yaml', () => {
    const result = apply(installYaml);
    expect(result.ok, result.output).toBe(true);
  });

  it('accepts what a Mesh renders to, with spec fields set', () => {
    const spec = {
      imagePullSecrets: [{ name: 'regcred' }],
      ztunnel: {
        image: 'mirror.example/ztunnel:1',
        logLevel: 'debug' as const,
        resources: { limits: { cpu: 1 } },
      },
      nodeAgent: { imagePullPolicy: 'Always' as const },
    };
    const result = apply(toYamlDocuments(renderMesh(mesh(spec), FACTS)));
    expect(result.ok, result.output).toBe(true);
  });

  it('accepts what a waypoint renders to', () => {
    const objects = renderWaypoint(waypointGateway('reviews-waypoint', waypointNamespace), mesh(), FACTS);
    const result = apply(toYamlDocuments(objects));
    expect(result.ok, result.output).toBe(true);
  });
});
