// Formats `kubectl get pods -A -o wide` lines from Pod objects for up.ts (no I/O).
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { age, createdMs, table } from './report.ts';

/** The STATUS column as kubectl's printer derives it (printPod), without the sidecar and readiness-gate cases. */
export function podStatus(pod: V1Pod): string {
  let reason = pod.status?.reason ?? pod.status?.phase ?? 'Unknown';
  const inits = pod.status?.initContainerStatuses ?? [];
  const initCount = pod.spec?.initContainers?.length ?? 0;
  const initReason = initStatus(inits, initCount);
  if (initReason !== undefined) return initReason;
  let running = false;
  for (const c of [...(pod.status?.containerStatuses ?? [])].reverse()) {
    const why = containerReason(c);
    if (why !== undefined) reason = why;
    else if (c.state?.running !== undefined && c.ready) running = true;
  }
  if (reason === 'Completed' && running) reason = 'Running';
  if (pod.metadata?.deletionTimestamp !== undefined && pod.status?.reason !== 'NodeLost')
    return 'Terminating';
  return reason;
}

function containerReason(c: V1ContainerStatus): string | undefined {
  const waiting = c.state?.waiting?.reason;
  if (waiting !== undefined && waiting !== '') return waiting;
  const t = c.state?.terminated;
  if (t === undefined) return undefined;
  if (t.reason !== undefined && t.reason !== '') return t.reason;
  return t.signal !== undefined && t.signal !== 0 ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`;
}

/** `Init:1/2`, `Init:CrashLoopBackOff`, `Init:Error`…, or undefined once every init container succeeded. */
function initStatus(inits: readonly V1ContainerStatus[], count: number): string | undefined {
  for (const [i, c] of inits.entries()) {
    const t = c.state?.terminated;
    if (t !== undefined && t.exitCode === 0) continue;
    if (t !== undefined)
      return `Init:${t.reason || (t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`)}`;
    const waiting = c.state?.waiting?.reason;
    if (waiting !== undefined && waiting !== '' && waiting !== 'PodInitializing') return `Init:${waiting}`;
    return `Init:${i}/${count}`;
  }
  return undefined;
}

/** The lines `kubectl get pods -A -o wide` prints, header first, sorted by namespace then name. */
export function podsWide(pods: readonly V1Pod[], nowMs: number): string[] {
  const header = ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE'];
  header.push('NOMINATED NODE', 'READINESS GATES');
  const rows = [...pods]
    .sort(
      (a, b) =>
        (a.metadata?.namespace ?? '').localeCompare(b.metadata?.namespace ?? '') ||
        (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
    )
    .map((p) => {
      const statuses = p.status?.containerStatuses ?? [];
      const total = p.spec?.containers.length ?? statuses.length;
      return [
        p.metadata?.namespace ?? '',
        p.metadata?.name ?? '',
        `${statuses.filter((c) => c.ready).length}/${total}`,
        podStatus(p),
        String(statuses.reduce((n, c) => n + c.restartCount, 0)),
        age(createdMs(p), nowMs),
        p.status?.podIP ?? '<none>',
        p.spec?.nodeName ?? '<none>',
        p.status?.nominatedNodeName ?? '<none>',
        '<none>',
      ];
    });
  return table([header, ...rows]);
}
