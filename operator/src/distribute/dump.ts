// The readable form of what a proxy receives (issue 4 "debug surface"): plain JSON, records sorted by id.
import type { ProxyConfig } from './scope.ts';

export interface ConfigDump {
  readonly workloads: readonly unknown[];
  readonly services: readonly unknown[];
  readonly authorizations: readonly unknown[];
}

function sorted<T>(m: ReadonlyMap<string, T>): T[] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

export function dumpConfig(c: ProxyConfig): ConfigDump {
  return {
    workloads: sorted(c.workloads),
    services: sorted(c.services),
    authorizations: sorted(c.authorizations),
  };
}
