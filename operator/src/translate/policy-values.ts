// Value checks shared by the ztunnel and waypoint translations of AuthorizationPolicy: ports and CIDRs converted
// with field-named errors, and which fields of a clause are set.
import type { AuthorizationPolicy } from '@ambit/codegen/crds';
import { parseIpv4Cidr } from '@ambit/config';

/** The parts of an AuthorizationPolicy both translations walk. */
export type Spec = NonNullable<AuthorizationPolicy['spec']>;
export type SpecRule = NonNullable<Spec['rules']>[number];
export type Source = NonNullable<NonNullable<SpecRule['from']>[number]['source']>;
export type Operation = NonNullable<NonNullable<SpecRule['to']>[number]['operation']>;
export type Condition = NonNullable<SpecRule['when']>[number];

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** The fields of an object that are set (an empty list counts as unset). */
export function setFields(object: object | undefined): string[] {
  if (!object) return [];
  return Object.entries(object)
    .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
    .map(([k]) => k);
}

export function portValues(
  values: readonly string[] | undefined,
  field: string,
  errors: FieldError[],
): number[] {
  return (values ?? []).flatMap((v, i) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1 || n > 65535) {
      errors.push({
        field: `${field}[${i}]`,
        message: `must be a port number from 1 to 65535 (got ${JSON.stringify(v)})`,
      });
      return [];
    }
    return [n];
  });
}

export function cidrValues(
  values: readonly string[] | undefined,
  field: string,
  errors: FieldError[],
): string[] {
  return (values ?? []).flatMap((v, i) => {
    if (v.includes(':')) return [v]; // IPv6: kept, never matches while the mesh is IPv4-only
    if (!parseIpv4Cidr(v)) {
      errors.push({
        field: `${field}[${i}]`,
        message: `must be an IP address or CIDR (got ${JSON.stringify(v)})`,
      });
      return [];
    }
    return [v];
  });
}
