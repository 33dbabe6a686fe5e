// Recomputes the dataplane config whenever the cluster changes, debounced and coalesced, and hands it to the
// config server. Level-based: an event only schedules a recompute from the caches; the previous result is kept
// so an invalid policy leaves its last good version in force.
import { translateCluster, type ClusterConfig, type MeshSettings } from '../translate/cluster-config.ts';
import type { ClusterCaches } from './caches.ts';

export interface ConfigEngineOptions {
  readonly caches: ClusterCaches;
  mesh(): MeshSettings;
  /** Receives every new result (push to proxies, write status). */
  onConfig(config: ClusterConfig): void;
  /** @default 100 */
  readonly debounceMs?: number;
  log?(line: string): void;
}

export class ConfigEngine {
  readonly #opts: ConfigEngineOptions;
  #timer: NodeJS.Timeout | undefined;
  #last: ClusterConfig | undefined;
  #stopped = false;

  constructor(opts: ConfigEngineOptions) {
    this.#opts = opts;
  }

  get last(): ClusterConfig | undefined {
    return this.#last;
  }

  /** Schedules a recompute; calls within the debounce window coalesce into one. */
  readonly changed = (): void => {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.recompute();
    }, this.#opts.debounceMs ?? 100);
  };

  recompute(): void {
    const c = this.#opts.caches;
    try {
      const config = translateCluster(
        {
          mesh: this.#opts.mesh(),
          namespaces: c.namespaces.list(),
          pods: c.pods.list(),
          services: c.services.list(),
          endpointSlices: c.endpointSlices.list(),
          gateways: c.gateways.list(),
          authorizationPolicies: c.authorizationPolicies.list(),
          peerAuthentications: c.peerAuthentications.list(),
          virtualServices: c.virtualServices.list(),
          destinationRules: c.destinationRules.list(),
          httpRoutes: c.httpRoutes.list(),
          grpcRoutes: c.grpcRoutes.list(),
          referenceGrants: c.referenceGrants.list(),
        },
        this.#last,
      );
      this.#last = config;
      this.#opts.onConfig(config);
    } catch (err) {
      // A translation bug must not take the control plane down: keep the last good config and say why.
      this.#opts.log?.(
        `engine: translation failed, keeping the last config: ${err instanceof Error ? err.stack : String(err)}`,
      );
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
