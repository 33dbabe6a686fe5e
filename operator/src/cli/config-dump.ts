// `ambit config dump --node N`: computes, from the cluster as it is now, exactly the records the control plane
// sends the ztunnel of node N, and prints them as JSON.
import type { Mesh } from '@ambit/codegen/crds';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { dumpRecords, type ConfigDump } from '@ambit/config';
import { ztunnelScope } from '../distribute/scope.ts';
import { listCluster } from '../engine/caches.ts';
import { translateCluster } from '../translate/cluster-config.ts';

/** Reads the Mesh `default` for its settings; a cluster without one gets the defaults. */
async function meshSettings(kc: KubeConfig) {
  const api = kc.makeApiClient(CustomObjectsApi);
  const mesh = (await api
    .getClusterCustomObject({ group: 'ambit.dev', version: 'v1alpha1', plural: 'meshes', name: 'default' })
    .catch(() => undefined)) as Mesh | undefined;
  return {
    trustDomain: mesh?.spec.trustDomain ?? 'cluster.local',
    rootNamespace: mesh?.spec.rootNamespace ?? 'istio-system',
    clusterDomain: 'cluster.local',
  };
}

export async function configDump(kc: KubeConfig, node: string): Promise<ConfigDump> {
  const config = translateCluster({ mesh: await meshSettings(kc), ...(await listCluster(kc)) });
  return dumpRecords(ztunnelScope(config, node));
}
