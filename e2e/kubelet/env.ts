// Pure container environment as the kubelet builds it: envFrom, env (with $(VAR) expansion), service links.
import type { V1ConfigMap, V1Container, V1Pod, V1Secret, V1Service } from '@kubernetes/client-node';
import { KubeletError } from './errors.ts';
import { expand } from './expansion.ts';
import { containerResourceValue, podFieldValue, type PodFacts } from './fieldpath.ts';
import type { EnvVar } from './types.ts';

/** What resolving needs besides the pod: runtime facts and read-only lookups (fetched by the caller). */
export interface EnvFacts extends PodFacts {
  /** A ConfigMap of the pod's namespace, or undefined if it does not exist. */
  readonly configMap: (name: string) => V1ConfigMap | undefined;
  readonly secret: (name: string) => V1Secret | undefined;
  /**
   * Services of the pod's namespace and of `default` (for the `kubernetes` Service, whose variables every pod gets,
   * which is what in-cluster clients read). @default []
   */
  readonly services?: readonly V1Service[];
}

/** Services whose variables every pod gets, whatever enableServiceLinks says (kubelet `masterServices`). */
const MASTER_SERVICES = new Set(['kubernetes']);

function envName(s: string): string {
  return s.replace(/-/g, '_').toUpperCase();
}

/** Docker-link style variables of one Service (kubelet `envvars.FromServices`). */
export function serviceEnvVars(svc: V1Service): EnvVar[] {
  const ip = svc.spec?.clusterIP;
  const ports = svc.spec?.ports ?? [];
  const first = ports[0];
  if (ip === undefined || ip === '' || ip === 'None' || first === undefined) return [];
  const name = envName(svc.metadata?.name ?? '');
  const out: EnvVar[] = [
    { name: `${name}_SERVICE_HOST`, value: ip },
    { name: `${name}_SERVICE_PORT`, value: String(first.port) },
  ];
  for (const p of ports) {
    if (p.name !== undefined && p.name !== '') {
      out.push({ name: `${name}_SERVICE_PORT_${envName(p.name)}`, value: String(p.port) });
    }
  }
  ports.forEach((p, i) => {
    const protocol = p.protocol ?? 'TCP';
    const url = `${protocol.toLowerCase()}://${ip.includes(':') ? `[${ip}]` : ip}:${p.port}`;
    if (i === 0) out.push({ name: `${name}_PORT`, value: url });
    const prefix = `${name}_PORT_${p.port}_${protocol.toUpperCase()}`;
    out.push(
      { name: prefix, value: url },
      { name: `${prefix}_PROTO`, value: protocol.toLowerCase() },
      { name: `${prefix}_PORT`, value: String(p.port) },
      { name: `${prefix}_ADDR`, value: ip },
    );
  });
  return out;
}

/** The service variables a pod gets (kubelet `getServiceEnvVarMap`): master services always, its namespace's if linked. */
function serviceEnv(pod: V1Pod, services: readonly V1Service[]): Map<string, string> {
  const ns = pod.metadata?.namespace ?? '';
  const links = pod.spec?.enableServiceLinks ?? true;
  const chosen = new Map<string, V1Service>();
  for (const svc of services) {
    const name = svc.metadata?.name ?? '';
    if (svc.metadata?.namespace === 'default' && MASTER_SERVICES.has(name)) {
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (svc.metadata?.namespace === ns && links) {
      chosen.set(name, svc);
    }
  }
  const env = new Map<string, string>();
  for (const svc of chosen.values()) for (const v of serviceEnvVars(svc)) env.set(v.name, v.value);
  return env;
}

function decode(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf8');
}

function missing(what: string): KubeletError {
  return new KubeletError('ERR_ENV_REF_MISSING', what);
}

/**
 * The container's environment (kubelet `makeEnvironmentVariables`):
 * 1. `envFrom` first, in order (prefix applied; a missing optional source is skipped), values taken literally.
 * 2. `env` in order, overriding: a `value` has `$(VAR)` expanded against the variables so far and the service
 *    variables; a `valueFrom` is resolved (fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef; an optional
 *    missing source or key skips the variable, a non-optional one throws naming it).
 * 3. Service variables not already set.
 */
export function resolveEnv(container: V1Container, pod: V1Pod, facts: EnvFacts): EnvVar[] {
  const ns = pod.metadata?.namespace ?? '';
  const svcEnv = serviceEnv(pod, facts.services ?? []);
  const env = new Map<string, string>();
  const lookup = (name: string): string | undefined => env.get(name) ?? svcEnv.get(name);

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef !== undefined) {
      const ref = from.configMapRef;
      const cm = facts.configMap(ref.name ?? '');
      if (cm === undefined) {
        if (ref.optional === true) continue;
        throw missing(`configmap ${ns}/${ref.name ?? ''} not found (envFrom of container ${container.name})`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env.set(prefix + k, v);
    } else if (from.secretRef !== undefined) {
      const ref = from.secretRef;
      const secret = facts.secret(ref.name ?? '');
      if (secret === undefined) {
        if (ref.optional === true) continue;
        throw missing(`secret ${ns}/${ref.name ?? ''} not found (envFrom of container ${container.name})`);
      }
      for (const [k, v] of Object.entries(secret.data ?? {})) env.set(prefix + k, decode(v));
    }
  }

  for (const v of container.env ?? []) {
    let value: string | undefined;
    const from = v.valueFrom;
    if (v.value !== undefined && v.value !== '') {
      value = expand(v.value, lookup);
    } else if (from?.fieldRef !== undefined) {
      value = podFieldValue(pod, from.fieldRef, facts);
    } else if (from?.resourceFieldRef !== undefined) {
      const target = from.resourceFieldRef.containerName;
      const c =
        target === undefined || target === ''
          ? container
          : [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
              (x) => x.name === target,
            );
      if (c === undefined)
        throw missing(`resourceFieldRef of ${v.name} names unknown container ${target ?? ''}`);
      value = containerResourceValue(c, from.resourceFieldRef, facts);
    } else if (from?.configMapKeyRef !== undefined) {
      const ref = from.configMapKeyRef;
      const cm = facts.configMap(ref.name ?? '');
      value = cm?.data?.[ref.key];
      if (value === undefined) {
        if (ref.optional === true) continue;
        throw missing(
          cm === undefined
            ? `configmap ${ns}/${ref.name ?? ''} not found (env ${v.name})`
            : `couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name ?? ''} (env ${v.name})`,
        );
      }
    } else if (from?.secretKeyRef !== undefined) {
      const ref = from.secretKeyRef;
      const secret = facts.secret(ref.name ?? '');
      const raw = secret?.data?.[ref.key];
      if (raw === undefined) {
        if (ref.optional === true) continue;
        throw missing(
          secret === undefined
            ? `secret ${ns}/${ref.name ?? ''} not found (env ${v.name})`
            : `couldn't find key ${ref.key} in Secret ${ns}/${ref.name ?? ''} (env ${v.name})`,
        );
      }
      value = decode(raw);
    }
    env.set(v.name, value ?? '');
  }

  for (const [k, v] of svcEnv) if (!env.has(k)) env.set(k, v);
  return [...env].map(([name, value]) => ({ name, value }));
}

/** `command` and `args` with `$(VAR)` expanded against the final environment (kubelet `ExpandContainerCommandAndArgs`). */
export function expandCommand(
  container: Pick<V1Container, 'command' | 'args'>,
  env: readonly EnvVar[],
): { command: string[]; args: string[] } {
  const vars = new Map(env.map((e) => [e.name, e.value]));
  const lookup = (name: string): string | undefined => vars.get(name);
  return {
    command: (container.command ?? []).map((c) => expand(c, lookup)),
    args: (container.args ?? []).map((a) => expand(a, lookup)),
  };
}
