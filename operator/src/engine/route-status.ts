// Writes the Gateway API status of routes (HTTPRoute/GRPCRoute): `status.parents`, one entry per Service parent
// (under the waypoint controller's name) and per ingress Gateway parent of ours (under the gateway controller's), so `kubectl get httproute -o yaml` says whether the route
// is accepted and its references resolve. Written only when it changed since the last write.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { GATEWAY_CONTROLLER, WAYPOINT_CONTROLLER } from '../render/contract.ts';
import type { RouteStatus } from '../translate/gateway-routes.ts';
import { conditionsToWrite } from './object-status.ts';

const PLURAL: Readonly<Record<string, string>> = { HTTPRoute: 'httproutes', GRPCRoute: 'grpcroutes' };

type WrittenParent = {
  parentRef: unknown;
  controllerName: string;
  conditions: ReturnType<typeof conditionsToWrite>;
};

export class RouteStatusWriter {
  readonly #api: CustomObjectsApi;
  readonly #written = new Map<string, WrittenParent[]>();
  readonly #now: () => Date;
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

  async write(statuses: readonly RouteStatus[]): Promise<number> {
    let writes = 0;
    const now = this.#now().toISOString();
    for (const s of statuses) {
      const plural = PLURAL[s.route.kind];
      if (!plural) continue;
      const key = `${s.route.kind}/${s.route.namespace}/${s.route.name}`;
      const previous = this.#written.get(key);
      const parents: WrittenParent[] = s.parents.map((p, i) => ({
        parentRef: p.parentRef,
        controllerName: p.controller === 'gateway' ? GATEWAY_CONTROLLER : WAYPOINT_CONTROLLER,
        conditions: conditionsToWrite(p.conditions, previous?.[i]?.conditions, now),
      }));
      if (previous && JSON.stringify(previous) === JSON.stringify(parents)) continue;
      try {
        await this.#api.patchNamespacedCustomObjectStatus(
          {
            group: 'gateway.networking.k8s.io',
            version: 'v1',
            plural,
            namespace: s.route.namespace,
            name: s.route.name,
            // A merge patch of `parents`: the list is atomic in the CRD, and holds only the parents that are ours.
            body: { status: { parents } },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        this.#written.set(key, parents);
        writes += 1;
      } catch (err) {
        this.#log(`status: cannot write ${key}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return writes;
  }
}
