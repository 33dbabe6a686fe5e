// `ambit waypoint apply|list|delete`, the I/O half: runs a parsed command against the apiserver and prints what it
// did, line by line as it happens (so `apply --wait` shows "applied" before it waits). Failures are thrown as Errors
// with a one-line message; the CLI prints it and exits 1.
import type { Gateway } from '@ambit/codegen/crds';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { apiErrorMessage } from '../api-error.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isWaypoint,
  programmedState,
  USE_WAYPOINT_LABEL,
  waypointGateway,
  waypointTable,
  type ApplyCommand,
  type DeleteCommand,
  type ListCommand,
} from './waypoint.ts';

/** Field manager of everything `ambit waypoint apply` writes, as istioctl uses `istioctl`. */
export const CLI_FIELD_MANAGER = 'ambit-cli';
const GATEWAYS = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways' } as const;
/** How often `apply --wait` looks at the Gateway's status. */
const POLL_MS = 250;

type Print = (line: string) => void;

export async function runWaypoint(
  kc: KubeConfig,
  command: ApplyCommand | ListCommand | DeleteCommand,
  print: Print,
): Promise<void> {
  const clients = { core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
  const namespace = command.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  try {
    switch (command.verb) {
      case 'apply':
        return await apply(clients, namespace, command, print);
      case 'list':
        return await list(clients, command.allNamespaces ? undefined : namespace, print);
      case 'delete':
        return await remove(clients, namespace, command, print);
    }
  } catch (err) {
    // Our own Errors already read well; the client's ApiException is multi-line and carries response headers.
    throw err instanceof ApiException ? new Error(apiErrorMessage(err)) : err;
  }
}

interface Clients {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
}

const isNotFound = (err: unknown) => err instanceof ApiException && err.code === 404;

async function apply({ core, custom }: Clients, namespace: string, command: ApplyCommand, print: Print) {
  // Checked first so the user reads "namespace not found", not the apiserver's wording of the failed apply.
  await core.readNamespace({ name: namespace }).catch((err: unknown) => {
    throw isNotFound(err) ? new Error(`namespace "${namespace}" not found`) : err;
  });
  const { name } = command;
  await custom.patchNamespacedCustomObject(
    {
      ...GATEWAYS,
      namespace,
      name,
      body: waypointGateway(namespace, name, command.for),
      fieldManager: CLI_FIELD_MANAGER,
      // As istioctl: the command states the user's intent, so it takes these fields over from whoever set them.
      force: true,
    },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  );
  print(`waypoint ${namespace}/${name} applied`);
  if (command.waitMs !== undefined) {
    await waitProgrammed(custom, namespace, name, command.waitMs);
    print(`waypoint ${namespace}/${name} is ready`);
  }
  // Enrolled only after the wait (as istioctl does), so with --wait traffic never goes to a waypoint not yet there.
  if (command.enrollNamespace) {
    // A merge patch of the one label, like `kubectl label --overwrite`: the CLI claims no other namespace field.
    await core.patchNamespace(
      { name: namespace, body: { metadata: { labels: { [USE_WAYPOINT_LABEL]: name } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    print(`namespace ${namespace} labeled with "${USE_WAYPOINT_LABEL}: ${name}"`);
  }
}

/** Polls until the operator reports Programmed=True; on timeout, the error says what the Gateway's status says. */
async function waitProgrammed(custom: CustomObjectsApi, namespace: string, name: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = programmedState(await getGateway(custom, namespace, name));
    if (state.ready) return;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(`waypoint ${namespace}/${name} not ready after ${timeoutMs / 1000}s: ${state.detail}`);
    }
    await sleep(Math.min(POLL_MS, left));
  }
}

async function getGateway(custom: CustomObjectsApi, namespace: string, name: string): Promise<Gateway> {
  return (await custom.getNamespacedCustomObject({ ...GATEWAYS, namespace, name })) as Gateway;
}

/** Waypoint Gateways of one namespace, or of all when `namespace` is undefined. */
async function listWaypoints(custom: CustomObjectsApi, namespace: string | undefined): Promise<Gateway[]> {
  const list = (await (namespace === undefined
    ? custom.listClusterCustomObject(GATEWAYS)
    : custom.listNamespacedCustomObject({ ...GATEWAYS, namespace }))) as { items: Gateway[] };
  return list.items.filter(isWaypoint);
}

async function list({ custom }: Clients, namespace: string | undefined, print: Print) {
  print(waypointTable(await listWaypoints(custom, namespace), namespace === undefined));
}

async function remove({ custom }: Clients, namespace: string, command: DeleteCommand, print: Print) {
  // Every named Gateway is checked before any is deleted, so a typo in one name deletes nothing.
  const targets = command.all
    ? await listWaypoints(custom, namespace)
    : await Promise.all(command.names.map((name) => namedWaypoint(custom, namespace, name)));
  if (targets.length === 0) print('No waypoints found.');
  for (const gateway of targets) {
    const name = gateway.metadata.name ?? '';
    await custom.deleteNamespacedCustomObject({
      ...GATEWAYS,
      namespace,
      name,
      // Deletes the Gateway that was checked, not one recreated under that name since (perhaps not a waypoint).
      body: { preconditions: { uid: gateway.metadata.uid } },
    });
    print(`waypoint ${namespace}/${name} deleted`);
  }
}

async function namedWaypoint(custom: CustomObjectsApi, namespace: string, name: string): Promise<Gateway> {
  const gateway = await getGateway(custom, namespace, name).catch((err: unknown) => {
    throw isNotFound(err) ? new Error(`waypoint ${namespace}/${name} not found`) : err;
  });
  if (!isWaypoint(gateway)) {
    throw new Error(
      `gateway ${namespace}/${name} has class "${gateway.spec.gatewayClassName}", not a waypoint class; not deleting it`,
    );
  }
  return gateway;
}
