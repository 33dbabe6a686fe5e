// `ambit waypoint apply|list|delete` on the real apiserver, run as a user runs it. No operator runs here: where a
// test needs the Gateway's status, it writes it through the status subresource as the operator would.
import type { Gateway } from '@ambit/codegen/crds';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { describe, expect, inject, it, onTestFinished } from 'vitest';

const kubeconfigPath = inject('kubeconfigPath');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const GATEWAYS = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways' } as const;
const cli = join(import.meta.dirname, 'main.ts');

interface Failure {
  code: number;
  stdout: string;
  stderr: string;
}

async function ambit(...args: string[]) {
  return promisify(execFile)(process.execPath, [cli, 'waypoint', ...args, '--kubeconfig', kubeconfigPath], {
    encoding: 'utf8',
  });
}

/** A fresh namespace for one test, deleted when the test ends. */
async function namespace(name: string): Promise<string> {
  await core.createNamespace({ body: { metadata: { name } } });
  onTestFinished(async () => {
    await core.deleteNamespace({ name }).catch(() => undefined);
  });
  return name;
}

async function getGateway(ns: string, name: string): Promise<Gateway> {
  return (await custom.getNamespacedCustomObject({ ...GATEWAYS, namespace: ns, name })) as Gateway;
}

/** Polls until the CLI has created the Gateway (a deadline, not a sleep: DESIGN §8). */
async function gatewayCreated(ns: string, name: string): Promise<Gateway> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
    const gateway = await getGateway(ns, name).catch(() => undefined);
    if (gateway) return gateway;
  }
  throw new Error(`gateway ${ns}/${name} was not created`);
}

/** Writes the Gateway's status conditions as the operator would. */
async function setConditions(
  gateway: Gateway,
  conditions: { type: string; status: string; reason: string; message: string }[],
) {
  const { namespace, name, generation } = gateway.metadata;
  await custom.patchNamespacedCustomObjectStatus(
    {
      ...GATEWAYS,
      namespace: namespace ?? '',
      name: name ?? '',
      body: {
        status: {
          conditions: conditions.map((c) => ({
            ...c,
            observedGeneration: generation,
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          })),
        },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

describe('ambit waypoint', { timeout: 60_000 }, () => {
  it('applies the waypoint Gateway idempotently, in the context namespace by default, and enrolls the namespace', async () => {
    const ns = await namespace('wp-apply');
    // A kubeconfig whose context names the namespace, as `kubectl config set-context --current --namespace` makes.
    const dir = await mkdtemp(join(tmpdir(), 'wp-kubeconfig-'));
    onTestFinished(() => rm(dir, { recursive: true }));
    const withNs = new KubeConfig();
    withNs.loadFromFile(kubeconfigPath);
    withNs.contexts = withNs.contexts.map((c) =>
      c.name === withNs.currentContext ? { ...c, namespace: ns } : c,
    );
    const kubeconfig = join(dir, 'config');
    await writeFile(kubeconfig, withNs.exportConfig());

    const first = await promisify(execFile)(
      process.execPath,
      [cli, 'waypoint', 'apply', '--for', 'workload', '--enroll-namespace', '--kubeconfig', kubeconfig],
      { encoding: 'utf8' },
    );
    expect(first.stdout).toBe(
      `waypoint ${ns}/waypoint applied\nnamespace ${ns} labeled with "istio.io/use-waypoint: waypoint"\n`,
    );
    const created = await getGateway(ns, 'waypoint');
    expect(created.metadata.labels).toEqual({ 'istio.io/waypoint-for': 'workload' });
    expect(created.spec).toMatchObject({
      gatewayClassName: 'ambit-waypoint',
      listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    });
    expect(created.spec.listeners).toHaveLength(1);
    expect(created.metadata.managedFields).toContainEqual(
      expect.objectContaining({ manager: 'ambit-cli', operation: 'Apply' }),
    );
    expect((await core.readNamespace({ name: ns })).metadata?.labels).toMatchObject({
      'istio.io/use-waypoint': 'waypoint',
    });

    // Re-applying changes nothing the CLI owns. The first re-apply may still write once: the apiserver then stores
    // the Gateway CRD's `status` default, which it drops on create and fills in on read (not the CLI's doing).
    const second = await ambit('apply', '-n', ns, '--for', 'workload');
    expect(second.stdout).toBe(`waypoint ${ns}/waypoint applied\n`);
    const reapplied = await getGateway(ns, 'waypoint');
    expect(reapplied.metadata.generation).toBe(1);
    const owned = (g: Gateway) =>
      g.metadata.managedFields?.map((f) => ({ ...(f as object), time: undefined }));
    expect(owned(reapplied)).toEqual(owned(created));
    await ambit('apply', '-n', ns, '--for', 'workload');
    expect((await getGateway(ns, 'waypoint')).metadata.resourceVersion).toBe(
      reapplied.metadata.resourceVersion,
    );
  });

  it('lists waypoints (not other Gateways) and deletes them by name, refusing missing names and other Gateways', async () => {
    const ns = await namespace('wp-list');
    await ambit('apply', '-n', ns, '--name', 'wp-a');
    await ambit('apply', '-n', ns, '--name', 'wp-b', '--for', 'all');
    await custom.createNamespacedCustomObject({
      ...GATEWAYS,
      namespace: ns,
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'Gateway',
        metadata: { name: 'ingress' },
        spec: { gatewayClassName: 'ambit', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
      },
    });

    const listed = await ambit('list', '-n', ns);
    expect(listed.stdout.trimEnd().split('\n')).toEqual([
      'NAME   FOR       PROGRAMMED',
      'wp-a   service   Unknown',
      'wp-b   all       Unknown',
    ]);
    const all = await ambit('list', '-A');
    expect(all.stdout).toMatch(/^NAMESPACE +NAME +FOR +PROGRAMMED$/m);
    expect(all.stdout).toMatch(new RegExp(`^${ns} +wp-a +service +Unknown$`, 'm'));
    expect(all.stdout).not.toContain('ingress');

    // One missing name: nothing is deleted.
    await expect(ambit('delete', '-n', ns, 'wp-a', 'nope')).rejects.toMatchObject({
      code: 1,
      stderr: `ambit: waypoint ${ns}/nope not found\n`,
    } satisfies Partial<Failure>);
    await expect(ambit('delete', '-n', ns, 'ingress')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        `gateway ${ns}/ingress has class "ambit", not a waypoint class`,
      ) as string,
    } satisfies Partial<Failure>);
    expect((await ambit('list', '-n', ns)).stdout).toContain('wp-a');

    expect((await ambit('delete', '-n', ns, 'wp-a')).stdout).toBe(`waypoint ${ns}/wp-a deleted\n`);
    await expect(getGateway(ns, 'wp-a')).rejects.toMatchObject({ code: 404 });
    expect((await ambit('delete', '-n', ns, '--all')).stdout).toBe(`waypoint ${ns}/wp-b deleted\n`);
    expect((await ambit('list', '-n', ns)).stdout).toBe('No waypoints found.\n');
    expect((await getGateway(ns, 'ingress')).spec.gatewayClassName).toBe('ambit');
  });

  it('--wait returns once the Gateway is Programmed, then enrolls the namespace', async () => {
    const ns = await namespace('wp-wait');
    const run = ambit('apply', '-n', ns, '--wait', '--enroll-namespace');
    const gateway = await gatewayCreated(ns, 'waypoint');
    // Not enrolled while the waypoint is not ready.
    expect((await core.readNamespace({ name: ns })).metadata?.labels).not.toHaveProperty(
      'istio.io/use-waypoint',
    );
    await setConditions(gateway, [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Resource accepted' },
      { type: 'Programmed', status: 'True', reason: 'Programmed', message: 'Resource programmed' },
    ]);
    expect((await run).stdout).toBe(
      [
        `waypoint ${ns}/waypoint applied`,
        `waypoint ${ns}/waypoint is ready`,
        `namespace ${ns} labeled with "istio.io/use-waypoint: waypoint"`,
        '',
      ].join('\n'),
    );
    expect((await ambit('list', '-n', ns)).stdout).toMatch(/^waypoint +service +True$/m);
  });

  it('--wait times out saying what the Gateway status says', async () => {
    const ns = await namespace('wp-timeout');
    await ambit('apply', '-n', ns);
    await setConditions(await getGateway(ns, 'waypoint'), [
      {
        type: 'Accepted',
        status: 'False',
        reason: 'NotAllowed',
        message: `namespace ${ns} may not run waypoints`,
      },
      { type: 'Programmed', status: 'False', reason: 'Invalid', message: 'not accepted' },
    ]);
    const started = Date.now();
    await expect(
      ambit('apply', '-n', ns, '--wait', '--timeout', '2s', '--enroll-namespace'),
    ).rejects.toMatchObject({
      code: 1,
      stdout: `waypoint ${ns}/waypoint applied\n`,
      stderr:
        `ambit: waypoint ${ns}/waypoint not ready after 2s: Accepted=False (NotAllowed: namespace ${ns} may not ` +
        'run waypoints); Programmed=False (Invalid: not accepted)\n',
    } satisfies Partial<Failure>);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect((await core.readNamespace({ name: ns })).metadata?.labels).not.toHaveProperty(
      'istio.io/use-waypoint',
    );
  });

  it('fails plainly on a missing namespace, and with the usage on a wrong command line', async () => {
    await expect(ambit('apply', '-n', 'wp-no-such-namespace')).rejects.toMatchObject({
      code: 1,
      stderr: 'ambit: namespace "wp-no-such-namespace" not found\n',
    } satisfies Partial<Failure>);
    await expect(ambit('apply', '--for', 'pods')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /--for must be one of service, workload, all, none.*\nusage:\n/s,
      ) as string,
    } satisfies Partial<Failure>);
  });
});
