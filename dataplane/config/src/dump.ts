// The readable form of a proxy's records (issue 4 "debug surface"): plain JSON, records sorted by id. The same shape
// is what `ambit config dump` prints, what a ztunnel serves on /config_dump, and what its static config file
// (LOCAL_CONFIG_PATH) holds, so a dump can be replayed into a proxy.
import type { Authorization, Service, Workload } from './model.ts';

export interface ConfigDump {
  readonly workloads: readonly Workload[];
  readonly services: readonly Service[];
  readonly authorizations: readonly Authorization[];
}

export interface Records {
  readonly workloads: ReadonlyMap<string, Workload>;
  readonly services: ReadonlyMap<string, Service>;
  readonly authorizations: ReadonlyMap<string, Authorization>;
}

function sorted<T>(m: ReadonlyMap<string, T>): T[] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

export function dumpRecords(r: Records): ConfigDump {
  return {
    workloads: sorted(r.workloads),
    services: sorted(r.services),
    authorizations: sorted(r.authorizations),
  };
}
