// The checks a Mesh must pass before the operator renders it: what the schema cannot say. An ordered chain of
// small named predicates (STYLE §5); the first violation becomes the Degraded condition, naming the field. While a
// Mesh fails a check, nothing is applied: the last good installation stays in force.
import type { Mesh } from '@ambit/codegen/crds';
import { MESH_NAME } from '../render/contract.ts';

export interface MeshCheckInput {
  readonly mesh: Mesh;
  /** Secrets in ambit-system: name → data keys. */
  readonly secrets: ReadonlyMap<string, readonly string[]>;
}

export interface Violation {
  readonly reason: string;
  readonly message: string;
}

type Check = (input: MeshCheckInput) => Violation | undefined;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Only `default` is honoured, so two Meshes can never fight over one installation (DESIGN §8). */
const onlyDefault: Check = ({ mesh }) =>
  mesh.metadata.name === MESH_NAME
    ? undefined
    : {
        reason: 'NotDefault',
        message: `only the Mesh named "${MESH_NAME}" is honoured; this one ("${mesh.metadata.name ?? ''}") is ignored`,
      };

/** A trust domain is a DNS name: it ends up in every SPIFFE URI SAN, where "a..b" or ".x" is invalid. */
const trustDomainIsDnsName: Check = ({ mesh }) => {
  const td = mesh.spec.trustDomain ?? 'cluster.local';
  const labels = td.split('.');
  if (td.length > 0 && labels.every((l) => DNS_LABEL.test(l))) return undefined;
  return {
    reason: 'InvalidTrustDomain',
    message: `spec.trustDomain ${JSON.stringify(td)} is not a DNS name (dot-separated labels of a-z, 0-9 and inner "-")`,
  };
};

/** A missing pull secret would leave every ztunnel in ImagePullBackOff: say so before rolling out. */
const imagePullSecretsExist: Check = ({ mesh, secrets }) => {
  const list = mesh.spec.imagePullSecrets ?? [];
  const i = list.findIndex((s) => !secrets.has(s.name));
  if (i < 0) return undefined;
  return {
    reason: 'ImagePullSecretNotFound',
    message: `spec.imagePullSecrets[${i}].name: Secret "ambit-system/${list[i]?.name ?? ''}" not found`,
  };
};

/** A bring-your-own root must exist and hold a certificate and its key. */
const rootSecretUsable: Check = ({ mesh, secrets }) => {
  const name = mesh.spec.ca?.rootSecret?.name;
  if (name === undefined) return undefined;
  const keys = secrets.get(name);
  if (!keys) {
    return {
      reason: 'RootSecretNotFound',
      message: `spec.ca.rootSecret.name: Secret "ambit-system/${name}" not found`,
    };
  }
  const missing = ['tls.crt', 'tls.key'].filter((k) => !keys.includes(k));
  if (missing.length === 0) return undefined;
  return {
    reason: 'RootSecretInvalid',
    message: `spec.ca.rootSecret.name: Secret "ambit-system/${name}" has no ${missing.join(' or ')}`,
  };
};

export const MESH_CHECKS: readonly Check[] = [
  onlyDefault,
  trustDomainIsDnsName,
  imagePullSecretsExist,
  rootSecretUsable,
];

/** The first violation of the chain, if any (pure). */
export function checkMesh(
  input: MeshCheckInput,
  checks: readonly Check[] = MESH_CHECKS,
): Violation | undefined {
  for (const check of checks) {
    const v = check(input);
    if (v) return v;
  }
  return undefined;
}
