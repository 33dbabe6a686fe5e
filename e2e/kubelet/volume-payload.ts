// Pure contents of API-data volumes (configMap, secret, downwardAPI, projected) from data the caller fetched.
import type {
  V1ConfigMap,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1Pod,
  V1Secret,
  V1Volume,
} from '@kubernetes/client-node';
import { KubeletError } from './errors.ts';
import { containerResourceValue, podFieldValue, type PodFacts } from './fieldpath.ts';
import { checkRelativePath } from './volume-plan.ts';

/** The API's default file mode for these volumes (0644). */
export const DEFAULT_MODE = 0o644;

export interface PayloadFile {
  readonly data: Buffer;
  readonly mode: number;
}

/** Relative path → file. */
export type Payload = ReadonlyMap<string, PayloadFile>;

/** One projected serviceAccountToken request; audience '' means the apiserver's own audiences. */
export interface TokenSpec {
  readonly audience: string;
  readonly expirationSeconds: number;
}

/** What a volume needs fetched before its payload can be built. */
export interface VolumeRefs {
  readonly configMaps: readonly string[];
  readonly secrets: readonly string[];
  readonly tokens: readonly TokenSpec[];
}

/** Everything fetched for a pod's volumes; a name mapped to undefined was looked up and does not exist. */
export interface VolumeData {
  readonly configMaps: ReadonlyMap<string, V1ConfigMap | undefined>;
  readonly secrets: ReadonlyMap<string, V1Secret | undefined>;
  /** By `tokenKey`. */
  readonly tokens: ReadonlyMap<string, string>;
}

export function tokenKey(t: TokenSpec): string {
  return `${t.audience}\n${t.expirationSeconds}`;
}

/** The API default for a projected token's expirationSeconds. */
const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;

/** The ConfigMaps, Secrets and tokens a volume reads. */
export function volumeRefs(v: V1Volume): VolumeRefs {
  const configMaps: string[] = [];
  const secrets: string[] = [];
  const tokens: TokenSpec[] = [];
  if (v.configMap !== undefined) configMaps.push(v.configMap.name ?? '');
  if (v.secret !== undefined) secrets.push(v.secret.secretName ?? '');
  for (const s of v.projected?.sources ?? []) {
    if (s.configMap !== undefined) configMaps.push(s.configMap.name ?? '');
    if (s.secret !== undefined) secrets.push(s.secret.name ?? '');
    if (s.serviceAccountToken !== undefined) {
      tokens.push({
        audience: s.serviceAccountToken.audience ?? '',
        expirationSeconds: s.serviceAccountToken.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS,
      });
    }
  }
  return { configMaps, secrets, tokens };
}

interface KeyedSource {
  /** For messages: `configmap ns/name`. */
  readonly what: string;
  /** Undefined when the object does not exist. */
  readonly entries: ReadonlyMap<string, Buffer> | undefined;
  readonly items: readonly V1KeyToPath[] | undefined;
  readonly optional: boolean;
}

function configMapEntries(cm: V1ConfigMap | undefined): Map<string, Buffer> | undefined {
  if (cm === undefined) return undefined;
  const m = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) m.set(k, Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) m.set(k, Buffer.from(v, 'base64'));
  return m;
}

function secretEntries(s: V1Secret | undefined): Map<string, Buffer> | undefined {
  if (s === undefined) return undefined;
  return new Map(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}

/**
 * Kubelet `MakePayload` for a ConfigMap or Secret: every key when `items` is empty, else just the listed keys at
 * their paths (a listed key that is missing throws unless optional). A missing optional object contributes nothing;
 * a missing required one throws naming it.
 */
function keyedPayload(
  src: KeyedSource,
  defaultMode: number,
  volume: string,
  out: Map<string, PayloadFile>,
): void {
  if (src.entries === undefined) {
    if (src.optional) return;
    throw new KubeletError('ERR_VOLUME_SOURCE_MISSING', `volume ${volume}: ${src.what} not found`);
  }
  const items = src.items ?? [];
  if (items.length === 0) {
    for (const [k, data] of src.entries)
      out.set(checkRelativePath(k, `volume ${volume}`), { data, mode: defaultMode });
    return;
  }
  for (const item of items) {
    const data = src.entries.get(item.key);
    if (data === undefined) {
      if (src.optional) continue;
      throw new KubeletError(
        'ERR_VOLUME_KEY_MISSING',
        `volume ${volume}: ${src.what} has no key ${item.key}`,
      );
    }
    out.set(checkRelativePath(item.path, `volume ${volume}`), { data, mode: item.mode ?? defaultMode });
  }
}

function downwardPayload(
  items: readonly V1DownwardAPIVolumeFile[],
  pod: V1Pod,
  facts: PodFacts,
  defaultMode: number,
  volume: string,
  out: Map<string, PayloadFile>,
): void {
  for (const item of items) {
    let value: string;
    if (item.fieldRef !== undefined) {
      value = podFieldValue(pod, item.fieldRef, facts);
    } else if (item.resourceFieldRef !== undefined) {
      const name = item.resourceFieldRef.containerName;
      const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
        (x) => x.name === name,
      );
      if (c === undefined) {
        throw new KubeletError('ERR_FIELD_UNSUPPORTED', `volume ${volume}: no container ${name ?? ''}`);
      }
      value = containerResourceValue(c, item.resourceFieldRef, facts);
    } else {
      throw new KubeletError('ERR_FIELD_UNSUPPORTED', `volume ${volume}: item ${item.path} has no fieldRef`);
    }
    out.set(checkRelativePath(item.path, `volume ${volume}`), {
      data: Buffer.from(value, 'utf8'),
      mode: item.mode ?? defaultMode,
    });
  }
}

/**
 * The files of an API-data volume. `emptyDir` and `hostPath` have no payload (undefined). Projected sources are
 * merged in order; an unsupported source (clusterTrustBundle, podCertificate) throws ERR_VOLUME_UNSUPPORTED.
 */
export function volumePayload(
  v: V1Volume,
  pod: V1Pod,
  data: VolumeData,
  facts: PodFacts,
): Payload | undefined {
  const ns = pod.metadata?.namespace ?? '';
  const out = new Map<string, PayloadFile>();
  const cm = (name: string): KeyedSource['entries'] => configMapEntries(data.configMaps.get(name));
  const secret = (name: string): KeyedSource['entries'] => secretEntries(data.secrets.get(name));
  if (v.configMap !== undefined) {
    const s = v.configMap;
    keyedPayload(
      {
        what: `configmap ${ns}/${s.name ?? ''}`,
        entries: cm(s.name ?? ''),
        items: s.items,
        optional: s.optional === true,
      },
      s.defaultMode ?? DEFAULT_MODE,
      v.name,
      out,
    );
    return out;
  }
  if (v.secret !== undefined) {
    const s = v.secret;
    keyedPayload(
      {
        what: `secret ${ns}/${s.secretName ?? ''}`,
        entries: secret(s.secretName ?? ''),
        items: s.items,
        optional: s.optional === true,
      },
      s.defaultMode ?? DEFAULT_MODE,
      v.name,
      out,
    );
    return out;
  }
  if (v.downwardAPI !== undefined) {
    downwardPayload(
      v.downwardAPI.items ?? [],
      pod,
      facts,
      v.downwardAPI.defaultMode ?? DEFAULT_MODE,
      v.name,
      out,
    );
    return out;
  }
  if (v.projected !== undefined) {
    const mode = v.projected.defaultMode ?? DEFAULT_MODE;
    for (const s of v.projected.sources ?? []) {
      if (s.configMap !== undefined) {
        const n = s.configMap.name ?? '';
        keyedPayload(
          {
            what: `configmap ${ns}/${n}`,
            entries: cm(n),
            items: s.configMap.items,
            optional: s.configMap.optional === true,
          },
          mode,
          v.name,
          out,
        );
      } else if (s.secret !== undefined) {
        const n = s.secret.name ?? '';
        keyedPayload(
          {
            what: `secret ${ns}/${n}`,
            entries: secret(n),
            items: s.secret.items,
            optional: s.secret.optional === true,
          },
          mode,
          v.name,
          out,
        );
      } else if (s.downwardAPI !== undefined) {
        downwardPayload(s.downwardAPI.items ?? [], pod, facts, mode, v.name, out);
      } else if (s.serviceAccountToken !== undefined) {
        const t = s.serviceAccountToken;
        const key = tokenKey({
          audience: t.audience ?? '',
          expirationSeconds: t.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS,
        });
        const token = data.tokens.get(key);
        if (token === undefined) throw new RangeError(`volume ${v.name}: token ${key} was not fetched`);
        out.set(checkRelativePath(t.path, `volume ${v.name}`), { data: Buffer.from(token, 'utf8'), mode });
      } else {
        const kind = Object.keys(s)[0] ?? '(none)';
        throw new KubeletError(
          'ERR_VOLUME_UNSUPPORTED',
          `volume ${v.name}: projected source ${kind} is not supported`,
        );
      }
    }
    return out;
  }
  return undefined;
}
