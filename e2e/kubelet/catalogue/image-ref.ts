// Pure image reference parsing with Docker's normalisation: `busybox` is `docker.io/library/busybox:latest`.

/** Docker Hub's canonical domain, and the namespace of its official images. */
export const DOCKER_HUB = 'docker.io';
/** The old name of Docker Hub's registry, normalised to DOCKER_HUB. */
const LEGACY_DOCKER_HUB = 'index.docker.io';
const OFFICIAL_NAMESPACE = 'library';
const DEFAULT_TAG = 'latest';
/** A registry host with an optional numeric port (distribution's `domainAndPort`, without IPv6). */
const DOMAIN = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:\d+)?$/;
/** A path component (distribution's `pathComponent`). */
const COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;

export interface ImageRef {
  /** Fully qualified repository, e.g. `docker.io/curlimages/curl`: what the catalogue matches on. */
  readonly repository: string;
  /** The tag, `latest` when neither a tag nor a digest was given. */
  readonly tag: string | undefined;
  /** `sha256:…` when the reference pins a digest. */
  readonly digest: string | undefined;
  /** The reference as a runtime reports it: repository with `:tag` and/or `@digest`. */
  readonly normalized: string;
}

/**
 * Parses an image reference as containerd does (distribution `ParseNormalizedNamed`):
 * 1. `@digest` is split off first, then a `:tag` after the last `/`;
 * 2. the first path component is a registry only if it has a `.` or `:` or is `localhost`; otherwise the
 *    registry is docker.io, and a single-component name there lives under `library/`;
 * 3. no tag and no digest means `:latest`.
 * Returns undefined for an empty or malformed reference.
 */
export function parseImageRef(reference: string): ImageRef | undefined {
  const ref = reference.trim();
  if (ref === '' || /\s/.test(ref)) return undefined;
  const at = ref.indexOf('@');
  const digest = at === -1 ? undefined : ref.slice(at + 1);
  const named = at === -1 ? ref : ref.slice(0, at);
  if (digest !== undefined && !/^[a-z0-9]+:[a-f0-9]{32,}$/.test(digest)) return undefined;
  const slash = named.lastIndexOf('/');
  const colon = named.lastIndexOf(':');
  const hasTag = colon > slash;
  const path = hasTag ? named.slice(0, colon) : named;
  const tagged = hasTag ? named.slice(colon + 1) : undefined;
  if (tagged !== undefined && !/^[\w][\w.-]{0,127}$/.test(tagged)) return undefined;
  const parts = path.split('/');
  if (parts.some((p) => p === '')) return undefined;
  const first = parts[0] ?? '';
  const hasDomain = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const domain = !hasDomain || first === LEGACY_DOCKER_HUB ? DOCKER_HUB : first;
  const rest = hasDomain ? parts.slice(1) : parts;
  if (hasDomain && !DOMAIN.test(first)) return undefined;
  if (!rest.every((c) => COMPONENT.test(c))) return undefined;
  if (domain === DOCKER_HUB && rest.length === 1) rest.unshift(OFFICIAL_NAMESPACE);
  const repository = `${domain}/${rest.join('/')}`;
  const tag = tagged ?? (digest === undefined ? DEFAULT_TAG : undefined);
  const normalized = `${repository}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`;
  return { repository, tag, digest, normalized };
}
