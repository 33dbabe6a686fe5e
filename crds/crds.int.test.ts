// Our CRDs on a real kube-apiserver: every one is established, the Mesh is defaulted and validated by the
// apiserver exactly as our offline validator predicts, and `kubectl get mesh` shows the printer columns.
import { execFile } from 'node:child_process';
import { request, type RequestOptions } from 'node:https';
import { promisify } from 'node:util';
import { ApiextensionsV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { validateMesh, type Mesh } from '@ambit/codegen/crds';
import { findCrdFiles } from '@ambit/e2e/cluster';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const kubeconfigPath = inject('kubeconfigPath');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfigPath);
const custom = kc.makeApiClient(CustomObjectsApi);
const mesh = { group: 'ambit.dev', version: 'v1alpha1', plural: 'meshes' };

/** A raw request with the admin credentials, for what the typed client does not expose (Table, status patch). */
async function raw(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const server = kc.getCurrentCluster()!.server;
  const opts: RequestOptions = { method, headers };
  await kc.applyToHTTPSOptions(opts);
  return new Promise<{ status: number; json: unknown }>((resolve, reject) => {
    const req = request(new URL(path, server), opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }),
      );
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Asks the apiserver to create (dry run) and returns its rejection message, or undefined if it would accept. */
async function apiserverVerdict(object: unknown): Promise<string | undefined> {
  try {
    await custom.createClusterCustomObject({
      ...mesh,
      body: object,
      dryRun: 'All',
      fieldValidation: 'Strict',
    });
    return undefined;
  } catch (err) {
    const body = (err as { body?: unknown }).body;
    return typeof body === 'string'
      ? ((JSON.parse(body) as { message?: string }).message ?? body)
      : String(err);
  }
}

function meshObject(name: string, spec: unknown): Mesh {
  return { apiVersion: 'ambit.dev/v1alpha1', kind: 'Mesh', metadata: { name }, spec } as Mesh;
}

describe('CRDs on a real apiserver', () => {
  it('establishes every CRD in crds/ (ours and the vendored upstream ones)', async () => {
    const names = new Set<string>();
    for (const file of await findCrdFiles()) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
        const obj = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
        if (obj?.kind === 'CustomResourceDefinition') names.add(obj.metadata!.name!);
      }
    }
    expect(names.has('meshes.ambit.dev')).toBe(true);
    expect(names.has('authorizationpolicies.security.istio.io')).toBe(true);
    expect(names.has('httproutes.gateway.networking.k8s.io')).toBe(true);
    const list = await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
    const established = new Set(
      list.items
        .filter((crd) => crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'))
        .map((crd) => crd.metadata!.name!),
    );
    expect([...names].filter((n) => !established.has(n))).toEqual([]);
  });

  describe('the Mesh', () => {
    beforeAll(async () => {
      await custom.createClusterCustomObject({
        ...mesh,
        body: meshObject('default', { trustDomain: 'example.org' }),
      });
    });
    afterAll(async () => {
      await custom.deleteClusterCustomObject({ ...mesh, name: 'default' });
    });

    it('is defaulted by the apiserver exactly as the offline validator defaults it', async () => {
      const stored = (await custom.getClusterCustomObject({ ...mesh, name: 'default' })) as Mesh;
      const offline = validateMesh.assertValid(meshObject('default', { trustDomain: 'example.org' }));
      expect(stored.spec).toEqual(offline.spec);
    });

    it.each([
      [
        'a valid full spec',
        {
          ca: { workloadCertTTL: '2h', rootSecret: { name: 'root' } },
          waypoints: { allowedNamespaces: { names: ['a'] } },
        },
        undefined,
      ],
      ['an empty trust domain', { trustDomain: '' }, 'spec.trustDomain'],
      ['a bad log level', { ztunnel: { logLevel: 'loud' } }, 'spec.ztunnel.logLevel'],
      [
        'a workload TTL longer than the root',
        { ca: { workloadCertTTL: '100000h' } },
        'spec.ca.workloadCertTTL',
      ],
      [
        'an empty allowedNamespaces',
        { waypoints: { allowedNamespaces: {} } },
        'spec.waypoints.allowedNamespaces',
      ],
      [
        'a duplicate pull secret',
        { imagePullSecrets: [{ name: 'a' }, { name: 'a' }] },
        'spec.imagePullSecrets[1]',
      ],
      ['an unknown field', { trustdomain: 'x' }, 'trustdomain'],
    ])('agrees with the offline validator on %s', async (_label, spec, field) => {
      const object = meshObject('dry-run', spec);
      const offline = validateMesh.validate(object);
      const server = await apiserverVerdict(object);
      if (field === undefined) {
        expect(offline.ok ? [] : offline.issues).toEqual([]);
        expect(server).toBeUndefined();
      } else {
        expect(offline.ok).toBe(false);
        if (!offline.ok) expect(offline.issues.map((i) => i.field).join(' ')).toContain(field);
        expect(server).toContain(field);
      }
    });

    it('serves the printer columns as a Table, filled from status', async () => {
      const status = {
        status: {
          observedGeneration: 1,
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'AllReady',
              message: 'ok',
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
            {
              type: 'Progressing',
              status: 'False',
              reason: 'Done',
              message: 'ok',
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
          ],
          ztunnels: { desired: 2, ready: 2, summary: '2/2' },
          waypoints: { total: 1, ready: 1, summary: '1/1' },
          workloads: { enrolled: 7 },
        },
      };
      const patched = await raw(
        'PATCH',
        '/apis/ambit.dev/v1alpha1/meshes/default/status',
        { 'content-type': 'application/merge-patch+json' },
        status,
      );
      expect(patched.status).toBe(200);
      const table = await raw('GET', '/apis/ambit.dev/v1alpha1/meshes', {
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
      });
      const json = table.json as {
        kind: string;
        columnDefinitions: { name: string }[];
        rows: { cells: unknown[] }[];
      };
      expect(json.kind).toBe('Table');
      expect(json.columnDefinitions.map((c) => c.name)).toEqual([
        'Name',
        'Ready',
        'Progressing',
        'Ztunnels',
        'Waypoints',
        'Workloads',
        'Age',
      ]);
      expect(json.rows.map((r) => r.cells.slice(0, 6))).toEqual([
        ['default', 'True', 'False', '2/2', '1/1', 7],
      ]);
    });

    it('prints the columns through Debian kubectl', async () => {
      const { stdout } = await promisify(execFile)('kubectl', [
        '--kubeconfig',
        kubeconfigPath,
        'get',
        'mesh',
      ]);
      const [header, row] = stdout
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/));
      expect(header).toEqual(['NAME', 'READY', 'PROGRESSING', 'ZTUNNELS', 'WAYPOINTS', 'WORKLOADS', 'AGE']);
      expect(row!.slice(0, 6)).toEqual(['default', 'True', 'False', '2/2', '1/1', '7']);
    });
  });
});
