// `ambit waypoint apply|list|delete`, the pure half: arguments into a typed command, the waypoint Gateway, the list
// table, and what a Gateway's status says about readiness. Semantics follow `istioctl waypoint` so its users (and
// their scripts) find what they expect; the cluster I/O lives in waypoint-run.ts.
import type { Gateway } from '@ambit/codegen/crds';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { WAYPOINT_CLASSES } from '../render/contract.ts';

export const WAYPOINT_USAGE = `  ambit waypoint apply [-n NS] [--name NAME] [--for service|workload|all|none] [--enroll-namespace]
                       [--wait] [--timeout 60s]        apply a waypoint Gateway (name "waypoint", for services)
  ambit waypoint list [-n NS | -A]                     list waypoints and whether they are programmed
  ambit waypoint delete (NAME... | --all) [-n NS]      delete waypoints by name, or all in the namespace
  (every waypoint command also takes --kubeconfig PATH; NS defaults to the kubeconfig context's, else "default")`;

/** Which traffic the waypoint handles: the `istio.io/waypoint-for` label, as in Istio. */
export const WAYPOINT_FOR = ['service', 'workload', 'all', 'none'] as const;
export type WaypointFor = (typeof WAYPOINT_FOR)[number];
export const WAYPOINT_FOR_LABEL = 'istio.io/waypoint-for';
/** Binds a namespace (service, pod) to a waypoint by name (DESIGN §3). */
export const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';
/** The class `apply` creates; `list` and `delete` also accept Istio's name for it. */
export const WAYPOINT_CLASS = WAYPOINT_CLASSES[0];
/** HBONE port of a waypoint's only listener (DESIGN §3). */
export const HBONE_PORT = 15008;

interface Common {
  /** Unset: the kubeconfig context's namespace, else `default` (resolved where the kubeconfig is loaded). */
  readonly namespace: string | undefined;
  readonly kubeconfig: string | undefined;
}
export interface ApplyCommand extends Common {
  readonly verb: 'apply';
  readonly name: string;
  readonly for: WaypointFor;
  readonly enrollNamespace: boolean;
  /** Wait this long for Programmed=True; undefined: do not wait. */
  readonly waitMs: number | undefined;
}
export interface ListCommand extends Common {
  readonly verb: 'list';
  readonly allNamespaces: boolean;
}
export interface DeleteCommand extends Common {
  readonly verb: 'delete';
  /** Empty when `all`. */
  readonly names: readonly string[];
  readonly all: boolean;
}
export type WaypointCommand = ApplyCommand | ListCommand | DeleteCommand | { readonly verb: 'help' };

/** A command line that does not make sense: the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const COMMON_OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

/** Parses the arguments after `waypoint`. Throws UsageError. */
export function parseWaypointArgs(argv: readonly string[]): WaypointCommand {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'apply':
      return parseApply(rest);
    case 'list':
      return parseList(rest);
    case 'delete':
      return parseDelete(rest);
    case undefined:
    case '-h':
    case '--help':
      return { verb: 'help' };
    default:
      throw new UsageError(`unknown waypoint command ${JSON.stringify(verb)}`);
  }
}

/** node:util parseArgs, with its errors (unknown option, missing value) turned into usage errors. */
function parse<O extends ParseArgsOptionsConfig>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function noPositionals(verb: string, positionals: readonly string[]): void {
  if (positionals.length > 0)
    throw new UsageError(`waypoint ${verb} takes no arguments, got ${positionals.join(' ')}`);
}

function parseApply(args: string[]): ApplyCommand | { verb: 'help' } {
  const { values, positionals } = parse(args, {
    ...COMMON_OPTIONS,
    name: { type: 'string', default: 'waypoint' },
    for: { type: 'string', default: 'service' },
    'enroll-namespace': { type: 'boolean', default: false },
    wait: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '60s' },
  });
  if (values.help) return { verb: 'help' };
  noPositionals('apply', positionals);
  const forType = WAYPOINT_FOR.find((f) => f === values.for);
  if (!forType) throw new UsageError(`--for must be one of ${WAYPOINT_FOR.join(', ')}, got ${values.for}`);
  // Parsed even without --wait, so a typo fails the same way whether or not it is used.
  const timeoutMs = parseDuration(values.timeout);
  return {
    verb: 'apply',
    namespace: values.namespace,
    kubeconfig: values.kubeconfig,
    name: values.name,
    for: forType,
    enrollNamespace: values['enroll-namespace'],
    waitMs: values.wait ? timeoutMs : undefined,
  };
}

function parseList(args: string[]): ListCommand | { verb: 'help' } {
  const { values, positionals } = parse(args, {
    ...COMMON_OPTIONS,
    'all-namespaces': { type: 'boolean', short: 'A', default: false },
  });
  if (values.help) return { verb: 'help' };
  noPositionals('list', positionals);
  if (values.namespace !== undefined && values['all-namespaces']) {
    throw new UsageError('waypoint list takes either -n or -A, not both');
  }
  return {
    verb: 'list',
    namespace: values.namespace,
    kubeconfig: values.kubeconfig,
    allNamespaces: values['all-namespaces'],
  };
}

function parseDelete(args: string[]): DeleteCommand | { verb: 'help' } {
  const { values, positionals } = parse(args, {
    ...COMMON_OPTIONS,
    all: { type: 'boolean', default: false },
  });
  if (values.help) return { verb: 'help' };
  // As istioctl: names or --all, so a bare `delete` never removes anything by accident.
  if (values.all && positionals.length > 0)
    throw new UsageError('waypoint delete takes names or --all, not both');
  if (!values.all && positionals.length === 0) throw new UsageError('waypoint delete needs a NAME or --all');
  return {
    verb: 'delete',
    namespace: values.namespace,
    kubeconfig: values.kubeconfig,
    names: [...new Set(positionals)],
    all: values.all,
  };
}

const DURATION_UNITS_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;

/** A Go-style duration as istioctl takes it (`60s`, `2m`, `1m30s`, `500ms`), in milliseconds. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/gy)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new UsageError(`invalid duration ${JSON.stringify(text)} (e.g. 60s, 2m, 500ms)`);
  }
  return parts.reduce(
    (ms, [, n, unit]) => ms + Number(n) * DURATION_UNITS_MS[unit as keyof typeof DURATION_UNITS_MS],
    0,
  );
}

/** The Gateway `apply` server-side applies: exactly the fields the CLI owns, nothing the apiserver defaults. */
export function waypointGateway(namespace: string, name: string, forType: WaypointFor): Gateway {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name, namespace, labels: { [WAYPOINT_FOR_LABEL]: forType } },
    spec: {
      gatewayClassName: WAYPOINT_CLASS,
      listeners: [{ name: 'mesh', port: HBONE_PORT, protocol: 'HBONE' }],
    },
  };
}

export function isWaypoint(gateway: Gateway): boolean {
  return (WAYPOINT_CLASSES as readonly string[]).includes(gateway.spec.gatewayClassName);
}

type Condition = NonNullable<NonNullable<Gateway['status']>['conditions']>[number];

export interface ProgrammedState {
  /** Programmed=True, reported for the Gateway's current generation: the waypoint serves what was applied. */
  readonly ready: boolean;
  /** The Programmed condition's status, `Unknown` while the operator has not reported one. */
  readonly programmed: Condition['status'];
  /** The Accepted and Programmed conditions in one line, to tell the user why a waypoint is not ready. */
  readonly detail: string;
}

export function programmedState(gateway: Gateway): ProgrammedState {
  const conditions = gateway.status?.conditions ?? [];
  const find = (type: string) => conditions.find((c) => c.type === type);
  const programmed = find('Programmed');
  // A condition about an older generation says nothing about the spec just applied.
  const current = (c: Condition) =>
    c.observedGeneration === undefined || c.observedGeneration >= (gateway.metadata.generation ?? 0);
  const shown = [find('Accepted'), programmed].filter((c) => c !== undefined);
  return {
    ready: programmed?.status === 'True' && current(programmed),
    programmed: programmed?.status ?? 'Unknown',
    detail:
      shown.length === 0
        ? 'no Accepted or Programmed condition yet (is the Ambit operator running?)'
        : shown
            .map((c) => {
              const text = [c.reason, c.message].filter((s) => s).join(': ');
              return `${c.type}=${c.status}${text ? ` (${text})` : ''}${current(c) ? '' : ' [for an older generation]'}`;
            })
            .join('; '),
  };
}

/** kubectl-style columns: left-aligned, three spaces apart. */
export function waypointTable(gateways: readonly Gateway[], withNamespace: boolean): string {
  if (gateways.length === 0) return 'No waypoints found.';
  const header = [...(withNamespace ? ['NAMESPACE'] : []), 'NAME', 'FOR', 'PROGRAMMED'];
  const rows = gateways.map((g) => [
    ...(withNamespace ? [g.metadata.namespace ?? ''] : []),
    g.metadata.name ?? '',
    // Istio's default when the label is absent.
    g.metadata.labels?.[WAYPOINT_FOR_LABEL] ?? 'service',
    programmedState(g).programmed,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}
