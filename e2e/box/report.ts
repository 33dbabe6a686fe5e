// Formats what up.ts prints: the box's nodes, and `kubectl get nodes -o wide` lines from Node objects (no I/O).
import type { V1Node } from '@kubernetes/client-node';
import type { BoxNode } from './box.ts';

/** Columns separated by three spaces, each as wide as its widest cell (kubectl's tabwriter layout). */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd(),
  );
}

/** kubectl's short ages: 45s, 12m, 5h, 3d. */
export function age(createdMs: number, nowMs: number): string {
  const s = Math.max(0, Math.floor((nowMs - createdMs) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function status(node: V1Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  const word = ready === 'True' ? 'Ready' : ready === 'False' ? 'NotReady' : 'Unknown';
  return node.spec?.unschedulable === true ? `${word},SchedulingDisabled` : word;
}

function roles(node: V1Node): string {
  const prefix = 'node-role.kubernetes.io/';
  const found = Object.keys(node.metadata?.labels ?? {})
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length));
  return found.length > 0 ? found.sort().join(',') : '<none>';
}

function address(node: V1Node, type: string): string {
  return node.status?.addresses?.find((a) => a.type === type)?.address ?? '<none>';
}

/** An object's creationTimestamp in ms (client-node gives a Date, raw JSON a string); NaN when absent. */
export function createdMs(obj: { readonly metadata?: { readonly creationTimestamp?: unknown } }): number {
  const created: unknown = obj.metadata?.creationTimestamp;
  if (created instanceof Date) return created.getTime();
  return typeof created === 'string' ? Date.parse(created) : Number.NaN;
}

/** The lines `kubectl get nodes -o wide` prints, header first. */
export function nodesWide(nodes: readonly V1Node[], nowMs: number): string[] {
  const header = [
    'NAME',
    'STATUS',
    'ROLES',
    'AGE',
    'VERSION',
    'INTERNAL-IP',
    'EXTERNAL-IP',
    'OS-IMAGE',
    'KERNEL-VERSION',
    'CONTAINER-RUNTIME',
  ];
  const rows = [...nodes]
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
    .map((n) => [
      n.metadata?.name ?? '',
      status(n),
      roles(n),
      age(createdMs(n), nowMs),
      n.status?.nodeInfo?.kubeletVersion ?? '',
      address(n, 'InternalIP'),
      address(n, 'ExternalIP'),
      n.status?.nodeInfo?.osImage ?? '',
      n.status?.nodeInfo?.kernelVersion ?? '',
      n.status?.nodeInfo?.containerRuntimeVersion ?? '',
    ]);
  return table([header, ...rows]);
}

/** One line per box node: netns, underlay IP, pod CIDR and kube-proxy pid. */
export function boxNodes(
  nodes: readonly BoxNode[],
  kubeProxyPids: Readonly<Record<string, number>>,
): string[] {
  return table([
    ['NODE', 'NETNS', 'IP', 'POD-CIDR', 'KUBE-PROXY-PID'],
    ...nodes.map((n) => [n.name, n.netns, n.ip, n.podCidr, String(kubeProxyPids[n.name] ?? '-')]),
  ]);
}
