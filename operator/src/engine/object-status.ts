// Writes translation's per-object conditions onto the user's objects (status.conditions), so `kubectl get ap -o
// yaml` says whether and where a policy is enforced. Server-side apply of the conditions only, under Ambit's field
// manager, and only for objects whose conditions changed since the last write.
import type { SourceRef } from '@ambit/config';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { ConditionData, ObjectStatus } from '../translate/status.ts';
import { CONFIG_FIELD_MANAGER } from './mesh-config-status.ts';

/** Kinds whose status Ambit writes, with their API coordinates. */
const WRITABLE: Readonly<Record<string, { group: string; version: string; plural: string }>> = {
  'security.istio.io/AuthorizationPolicy': {
    group: 'security.istio.io',
    version: 'v1',
    plural: 'authorizationpolicies',
  },
  'security.istio.io/PeerAuthentication': {
    group: 'security.istio.io',
    version: 'v1',
    plural: 'peerauthentications',
  },
  'networking.istio.io/VirtualService': {
    group: 'networking.istio.io',
    version: 'v1',
    plural: 'virtualservices',
  },
  'networking.istio.io/DestinationRule': {
    group: 'networking.istio.io',
    version: 'v1',
    plural: 'destinationrules',
  },
};

const keyOf = (o: SourceRef) => `${o.group}/${o.kind}/${o.namespace}/${o.name}`;

/** The conditions as written: lastTransitionTime moves only when the status of that type changes. */
export function conditionsToWrite(
  next: readonly ConditionData[],
  previous: readonly (ConditionData & { lastTransitionTime: string })[] | undefined,
  now: string,
): (ConditionData & { lastTransitionTime: string })[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now };
  });
}

export class ObjectStatusWriter {
  readonly #api: CustomObjectsApi;
  readonly #now: () => Date;
  readonly #written = new Map<string, (ConditionData & { lastTransitionTime: string })[]>();
  readonly #log: (line: string) => void;

  constructor(
    kc: KubeConfig,
    now: () => Date = () => new Date(),
    log: (line: string) => void = () => undefined,
  ) {
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#now = now;
    this.#log = log;
  }

  /** Writes what changed; returns how many objects were written. A failed write is logged and retried next time. */
  async write(statuses: readonly ObjectStatus[]): Promise<number> {
    let writes = 0;
    const now = this.#now().toISOString();
    for (const s of statuses) {
      const target = WRITABLE[`${s.object.group}/${s.object.kind}`];
      if (!target) continue;
      const key = keyOf(s.object);
      const previous = this.#written.get(key);
      const conditions = conditionsToWrite(s.conditions, previous, now);
      const same =
        previous !== undefined &&
        previous.length === conditions.length &&
        previous.every((p, i) => JSON.stringify(p) === JSON.stringify(conditions[i]));
      if (same) continue;
      try {
        await this.#api.patchNamespacedCustomObjectStatus(
          {
            ...target,
            namespace: s.object.namespace,
            name: s.object.name,
            body: {
              apiVersion: `${target.group}/${target.version}`,
              kind: s.object.kind,
              metadata: { name: s.object.name, namespace: s.object.namespace },
              status: { conditions },
            },
            fieldManager: CONFIG_FIELD_MANAGER,
            force: true,
          },
          setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
        );
        this.#written.set(key, conditions);
        writes += 1;
      } catch (err) {
        this.#log(`status: cannot write ${key}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return writes;
  }
}
