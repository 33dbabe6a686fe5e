// What cdk8s-plus cannot say about a pod template, added as JSON patches on the rendered workload, plus the pod
// pieces several components share (labels, downward-API env, control-plane credentials). Every workload here has
// exactly one container, so container paths are fixed at index 0.
//
// Patch values are typed as cdk8s-plus' L1 props (`kplus.k8s.*`), not as plain JSON: the L1 construct converts the
// patched document once more, reading quantities and int-or-strings as `Quantity`/`IntOrString` objects and
// dropping fields its schema does not know.
import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  CONTROL_PLANE_ADDRESS,
  CONTROL_PLANE_AUDIENCE,
  CONTROL_PLANE_TOKEN_FILE,
  PROXY_CREDENTIALS_DIR,
  ROOT_CA_CONFIGMAP,
  ROOT_CA_KEY,
} from './contract.ts';
import { DATAPLANE_MODE_LABELS } from '../translate/enrollment.ts';
import { NAME_LABEL, PART_OF, PART_OF_LABEL } from './labels.ts';
import type { Resources } from './settings.ts';

const TEMPLATE = '/spec/template';
const CONTAINER = `${TEMPLATE}/spec/containers/0`;

/** Labels of a component's pods; the workload selects on NAME_LABEL only (selectors are immutable). */
export function podLabels(name: string): Record<string, string> {
  return {
    [NAME_LABEL]: name,
    [PART_OF_LABEL]: PART_OF,
    // Ambit's own pods are never captured, even in a namespace labelled ambient: the proxies speak HBONE themselves
    // and the operator is what captured traffic would need to reach (Istio labels its waypoints the same way).
    [DATAPLANE_MODE_LABELS[0]]: 'none',
  };
}

/** Environment variables from the downward API, by name. */
export const DOWNWARD_ENV = {
  NODE_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.NODE_NAME),
  POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
  POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
  INSTANCE_IP: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_IP),
} as const;

/** What every proxy (ztunnel, waypoint) needs to find and trust the control plane. */
export function proxyEnv(trustDomain: string): Record<string, kplus.EnvValue> {
  return {
    CONTROL_PLANE_ADDRESS: kplus.EnvValue.fromValue(CONTROL_PLANE_ADDRESS),
    TRUST_DOMAIN: kplus.EnvValue.fromValue(trustDomain),
  };
}

/**
 * Finishes a workload's pod template: removes the `cdk8s.io/metadata.addr` label cdk8s-plus adds to every pod
 * template (it names the construct path, and our selectors do not use it), and sets the container's resources as
 * given, replacing cdk8s-plus' default of 1 CPU / 512Mi (it also knows only cpu, memory and storage).
 */
export function finishPodTemplate(workload: kplus.Workload, resources: Resources): void {
  const requirements: kplus.k8s.ResourceRequirements = {
    requests: resources.requests && toQuantities(resources.requests),
    limits: resources.limits && toQuantities(resources.limits),
  };
  ApiObject.of(workload).addJsonPatch(
    JsonPatch.remove(`${TEMPLATE}/metadata/labels/cdk8s.io~1metadata.addr`),
    JsonPatch.add(`${CONTAINER}/resources`, requirements),
  );
}

function toQuantities(list: Readonly<Record<string, string | number>>): Record<string, kplus.k8s.Quantity> {
  return Object.fromEntries(
    Object.entries(list).map(([name, q]) => [
      name,
      typeof q === 'number' ? kplus.k8s.Quantity.fromNumber(q) : kplus.k8s.Quantity.fromString(q),
    ]),
  );
}

/** Sets pod spec fields cdk8s-plus has no property for (tolerations, priorityClassName, imagePullSecrets). */
export function setPodSpecFields(workload: kplus.Workload, fields: Partial<kplus.k8s.PodSpec>): void {
  ApiObject.of(workload).addJsonPatch(
    ...Object.entries(fields).map(([field, value]) => JsonPatch.add(`${TEMPLATE}/spec/${field}`, value)),
  );
}

/**
 * Makes a DaemonSet of a node component run on every node: tolerate every NoSchedule and NoExecute taint (a node
 * without ztunnel and node agent cannot run meshed pods, and Istio's node components do the same), be the last to
 * be evicted, and roll one node at a time.
 */
export function runOnEveryNode(daemonSet: kplus.DaemonSet): void {
  setPodSpecFields(daemonSet, {
    tolerations: [
      { operator: 'Exists', effect: 'NoSchedule' },
      { operator: 'Exists', effect: 'NoExecute' },
      { key: 'CriticalAddonsOnly', operator: 'Exists' },
    ],
    priorityClassName: 'system-node-critical',
  });
  const updateStrategy: kplus.k8s.DaemonSetUpdateStrategy = {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: kplus.k8s.IntOrString.fromNumber(1) },
  };
  ApiObject.of(daemonSet).addJsonPatch(JsonPatch.add('/spec/updateStrategy', updateStrategy));
}

/** `imagePullSecrets` for the pod spec, or nothing when there are none. */
export function pullSecretFields(names: readonly string[]): Partial<kplus.k8s.PodSpec> {
  return names.length > 0 ? { imagePullSecrets: names.map((name) => ({ name })) } : {};
}

/**
 * Mounts the proxy's control-plane credentials read-only at PROXY_CREDENTIALS_DIR: a service-account token bound
 * to the pod with the control plane's audience (so it is useless against the apiserver) and the mesh root CA to
 * verify the control plane's TLS certificate. The root CA ConfigMap is optional so the pod starts before the CA
 * has published it; the kubelet refreshes projected volumes, and the proxy waits for the file.
 *
 * cdk8s-plus has no projected volume, so this patches the pod spec: call it after every cdk8s-plus volume of the
 * workload is declared, since it appends to their list when there is one.
 */
export function mountControlPlaneCredentials(workload: kplus.Workload): void {
  const volume: kplus.k8s.Volume = {
    name: 'ambit-credentials',
    projected: {
      sources: [
        {
          serviceAccountToken: {
            audience: CONTROL_PLANE_AUDIENCE,
            expirationSeconds: 3600,
            path: CONTROL_PLANE_TOKEN_FILE,
          },
        },
        {
          configMap: {
            name: ROOT_CA_CONFIGMAP,
            items: [{ key: ROOT_CA_KEY, path: ROOT_CA_KEY }],
            optional: true,
          },
        },
      ],
    },
  };
  const mount: kplus.k8s.VolumeMount = {
    name: volume.name,
    mountPath: PROXY_CREDENTIALS_DIR,
    readOnly: true,
  };
  const [container] = workload.containers;
  const hasVolumes = workload.volumes.length > 0 || workload.containers.some((c) => c.mounts.length > 0);
  const hasMounts = (container?.mounts.length ?? 0) > 0;
  ApiObject.of(workload).addJsonPatch(
    hasVolumes
      ? JsonPatch.add(`${TEMPLATE}/spec/volumes/-`, volume)
      : JsonPatch.add(`${TEMPLATE}/spec/volumes`, [volume]),
    hasMounts
      ? JsonPatch.add(`${CONTAINER}/volumeMounts/-`, mount)
      : JsonPatch.add(`${CONTAINER}/volumeMounts`, [mount]),
  );
}
