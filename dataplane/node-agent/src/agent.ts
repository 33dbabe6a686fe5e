// The per-node daemon: watches the pods of its node and their namespaces, and keeps every enrolled pod's netns
// redirected to the ztunnel and handed over to it, level-based (STYLE 4): an event only enqueues `namespace/name`;
// reconcile re-reads the caches, decides (decide.ts, pure) and acts. Pods are never restarted or modified.
//
// Order of the acts, as in istio-cni (`AddPodToMesh`, `RemovePodFromMesh`):
//  1. capture: rules first, then `add` to the ztunnel. Until the ztunnel has the pod, its connections are refused
//     (redirected to a port nobody listens on) rather than leaving the mesh: capture fails closed.
//  2. release: rules off first, then `del`: new connections go direct while the ztunnel still serves the old ones.
//
// Ports (DESIGN §5): health `/healthz/ready` on 15021. Sockets: the handover server (the ztunnel connects) and the
// CNI event socket (the plugin asks for a capture at pod creation).
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { dirname } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig, type V1Namespace, type V1Pod } from '@kubernetes/client-node';
import {
  CniEventError,
  POD_ADDED,
  POD_DELETED,
  parsePodAdded,
  parsePodDeleted,
  type PodAddedEvent,
  type PodDeletedEvent,
} from './cni-event.ts';
import { desiredCapture, planPod, type Captured, type PodFacts, type Step } from './decide.ts';
import { HandoverError, HandoverServer, type PodNetns } from './handover.ts';
import { startCache, type Cache } from './informer.ts';
import { firstResolver, procNetnsResolver, uidNetnsResolver, type NetnsResolver } from './netns-resolver.ts';
import { NetnsRules, type RulesOutcome } from './netns-rules.ts';
import type { Settings } from './settings.ts';
import { WorkQueue } from './work-queue.ts';

/** What the agent needs from the rules module (a fake in tests that have no netns). */
export interface RedirectInstaller {
  apply(netns: string): Promise<RulesOutcome>;
  remove(netns: string): Promise<RulesOutcome>;
}

export interface AgentDeps {
  /** @default from settings.kubeconfig, else in-cluster */
  readonly kubeConfig?: KubeConfig;
  /** @default uidNetnsResolver(settings.netnsDir, settings.netnsPrefix) */
  readonly resolver?: NetnsResolver;
  /** @default new NetnsRules() */
  readonly rules?: RedirectInstaller;
  /** @default stderr with a timestamp */
  readonly log?: (line: string) => void;
}

export interface Agent {
  /** The bound health port (settings.healthPort, or the one picked for 0). */
  readonly healthPort: number;
  readonly handover: HandoverServer;
  /** Caches synced and sockets listening. */
  ready(): boolean;
  /** The pods captured now, by `namespace/name`. */
  captured(): ReadonlyMap<string, PodNetns>;
  /** A CNI ADD: resolves whether the pod was captured. */
  podAdded(ev: PodAddedEvent): Promise<{ captured: boolean }>;
  podDeleted(ev: PodDeletedEvent): Promise<void>;
  stop(): Promise<void>;
}

/** What CNI told us about a pod before (or instead of) the API object and the resolver. */
interface CniHint {
  readonly uid: string;
  readonly netns: string;
  readonly ips: readonly string[];
  readonly at: number;
  /** Once the API object with this uid was seen, the hint no longer stands in for it (its netns and ips still do). */
  sawInCache: boolean;
}

/** A CNI hint stands in for a pod the cache has not shown yet for at most this long. */
const HINT_ALONE_MS = 60_000;
/** How long a CNI ADD waits for its pod to reach the cache, so the pod's own labels (opt-out) count. */
const CNI_CACHE_WAIT_MS = 2_000;

export function podFacts(p: V1Pod): PodFacts | undefined {
  const uid = p.metadata?.uid;
  const namespace = p.metadata?.namespace;
  const name = p.metadata?.name;
  if (uid === undefined || namespace === undefined || name === undefined) return undefined;
  const ips = p.status?.podIPs?.map((x) => x.ip) ?? (p.status?.podIP === undefined ? [] : [p.status.podIP]);
  return {
    uid,
    namespace,
    name,
    labels: p.metadata?.labels,
    hostNetwork: p.spec?.hostNetwork === true,
    phase: p.status?.phase,
    ips,
  };
}

function kubeConfigFor(s: Settings): KubeConfig {
  const kc = new KubeConfig();
  if (s.kubeconfig === undefined) kc.loadFromCluster();
  else kc.loadFromFile(s.kubeconfig);
  return kc;
}

async function listenUnix(server: Server, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await rm(path, { force: true });
  server.listen(path);
  await once(server, 'listening');
  await chmod(path, 0o600);
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  await closed;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  req.setEncoding('utf8');
  for await (const chunk of req) {
    text += chunk as string;
    if (text.length > 64 * 1024) throw new CniEventError('ERR_CNI_EVENT_INVALID', 'body too large');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CniEventError('ERR_CNI_EVENT_INVALID', 'body is not JSON', { cause: err });
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export async function startAgent(settings: Settings, deps: AgentDeps = {}): Promise<Agent> {
  const log = deps.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
  const kc = deps.kubeConfig ?? kubeConfigFor(settings);
  const resolver =
    deps.resolver ??
    firstResolver(
      uidNetnsResolver({ dir: settings.netnsDir, prefix: settings.netnsPrefix }),
      procNetnsResolver({ netnsDir: settings.netnsDir, procDir: settings.hostProcDir }),
    );
  const rules = deps.rules ?? new NetnsRules();
  const core = kc.makeApiClient(CoreV1Api);
  const handover = new HandoverServer({ path: settings.handoverSocket, log });

  const captured = new Map<string, Captured>();
  const hints = new Map<string, CniHint>();
  /** Keys reconciled successfully since start: the first reconcile sweeps leftovers of a previous agent. */
  const seen = new Set<string>();
  /** CNI DEL seen for this uid: the sandbox is going, so the pod counts as gone even while its API object stays. */
  const deleted = new Map<string, string>();
  let synced = false;
  let stopping = false;
  let markSynced = (): void => undefined;
  const whenSynced = new Promise<void>((r) => (markSynced = r));

  // ---- reconcile ------------------------------------------------------------------------------------------------

  const reconcile = async (key: string): Promise<void> => {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const apiPod = pods.get(name, namespace);
    let facts = apiPod === undefined ? undefined : podFacts(apiPod);
    const tombstone = deleted.get(key);
    if (tombstone !== undefined && facts?.uid !== tombstone) deleted.delete(key);
    else if (tombstone !== undefined) facts = undefined;
    let hint = hints.get(key);
    if (hint !== undefined && facts !== undefined && facts.uid !== hint.uid) {
      hints.delete(key); // the pod under this name is another one now
      hint = undefined;
    }
    if (hint !== undefined && facts !== undefined) hint.sawInCache = true;
    if (
      hint !== undefined &&
      facts === undefined &&
      tombstone === undefined &&
      !hint.sawInCache &&
      Date.now() - hint.at < HINT_ALONE_MS
    ) {
      // Created a moment ago: the CNI plugin knows it, the cache does not yet. Its own labels are unknown (the
      // namespace decides); the next reconcile, once the object arrives, corrects that.
      facts = {
        uid: hint.uid,
        namespace,
        name,
        labels: undefined,
        hostNetwork: false,
        phase: undefined,
        ips: hint.ips,
      };
    }
    let netns: string | undefined;
    if (facts !== undefined && !facts.hostNetwork) {
      netns = hint !== undefined ? hint.netns : resolver.resolve(facts);
      if (facts.ips.length === 0 && hint !== undefined) facts = { ...facts, ips: hint.ips };
    }
    const want = desiredCapture(facts, namespaces.get(namespace)?.metadata?.labels, netns);
    const steps = planPod(want, captured.get(key), seen.has(key) ? undefined : { netns });
    for (const step of steps) await act(key, step);
    seen.add(key);
  };

  const act = async (key: string, step: Step): Promise<void> => {
    switch (step.kind) {
      case 'sweep': {
        if ((await rules.remove(step.netns)) === 'changed')
          log(`removed stale redirect from ${key} (${step.netns})`);
        return;
      }
      case 'release': {
        await rules.remove(step.pod.netns);
        await handover.del(step.pod.uid);
        captured.delete(key);
        if (hints.get(key)?.uid === step.pod.uid) hints.delete(key);
        log(`released ${key} (${step.pod.uid})`);
        return;
      }
      case 'capture': {
        const outcome = await rules.apply(step.pod.netns);
        if (!step.handover) {
          if (outcome === 'changed') log(`re-installed the redirect of ${key}: it had been changed`);
          return;
        }
        const ino = (await stat(step.pod.netns, { bigint: true })).ino;
        const pod: PodNetns = { ...step.pod, netnsInode: ino.toString() };
        try {
          const delivery = await handover.add(pod);
          captured.set(key, { pod, rejected: false });
          log(`captured ${key} (${pod.uid}, ${pod.ips.join(',')}); ztunnel ${delivery}`);
        } catch (err) {
          captured.set(key, {
            pod,
            rejected: err instanceof HandoverError && err.code === 'ERR_HANDOVER_REJECTED',
          });
          throw err;
        }
        return;
      }
    }
  };

  const queue = new WorkQueue({
    reconcile,
    onError: (key, err) => log(`reconcile ${key}: ${err instanceof Error ? err.message : String(err)}`),
  });
  const enqueue = (key: string): void => {
    if (synced && !stopping) queue.add(key);
  };
  const keyOf = (o: V1Pod): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  const enqueueNamespace = (ns: string): void => {
    for (const p of pods.list(ns)) enqueue(keyOf(p));
    for (const key of captured.keys()) if (key.startsWith(`${ns}/`)) enqueue(key);
  };
  const enqueueAll = (): void => {
    for (const p of pods.list()) enqueue(keyOf(p));
    for (const key of [...captured.keys(), ...hints.keys()]) enqueue(key);
  };

  // ---- watches --------------------------------------------------------------------------------------------------

  const fieldSelector = `spec.nodeName=${settings.nodeName}`;
  const pods: Cache<V1Pod> = startCache<V1Pod>({
    kubeConfig: kc,
    path: '/api/v1/pods',
    fieldSelector,
    list: () => core.listPodForAllNamespaces({ fieldSelector }),
    onChange: (p) => enqueue(keyOf(p)),
    log,
  });
  const namespaces: Cache<V1Namespace> = startCache<V1Namespace>({
    kubeConfig: kc,
    path: '/api/v1/namespaces',
    list: () => core.listNamespace(),
    onChange: (n) => enqueueNamespace(n.metadata?.name ?? ''),
    log,
  });

  // ---- CNI events -----------------------------------------------------------------------------------------------

  const waitForCache = async (ev: PodAddedEvent): Promise<void> => {
    const end = Date.now() + CNI_CACHE_WAIT_MS;
    while (pods.get(ev.name, ev.namespace)?.metadata?.uid !== ev.uid && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const podAdded = async (ev: PodAddedEvent): Promise<{ captured: boolean }> => {
    await whenSynced;
    const key = `${ev.namespace}/${ev.name}`;
    hints.set(key, { uid: ev.uid, netns: ev.netns, ips: ev.ips, at: Date.now(), sawInCache: false });
    if (deleted.get(key) === ev.uid) deleted.delete(key); // the runtime retries the same pod's sandbox
    await waitForCache(ev);
    await queue.settle(key);
    return { captured: captured.get(key)?.pod.uid === ev.uid };
  };

  const podDeleted = async (ev: PodDeletedEvent): Promise<void> => {
    await whenSynced;
    const key = `${ev.namespace}/${ev.name}`;
    if (hints.get(key)?.uid === ev.uid) hints.delete(key);
    // The sandbox is going away: release now, while the netns still exists, rather than when the API object goes.
    deleted.set(key, ev.uid);
    await queue.settle(key);
  };

  const cniServer = createServer((req, res) => {
    void (async () => {
      try {
        if (req.method !== 'POST') return reply(res, 405, { error: 'POST only' });
        if (req.url === POD_ADDED) return reply(res, 200, await podAdded(parsePodAdded(await readJson(req))));
        if (req.url === POD_DELETED) {
          await podDeleted(parsePodDeleted(await readJson(req)));
          return reply(res, 200, {});
        }
        return reply(res, 404, { error: `no such path ${req.url ?? ''}` });
      } catch (err) {
        const e = err as Error & { code?: string };
        reply(res, e instanceof CniEventError && e.code === 'ERR_CNI_EVENT_INVALID' ? 400 : 500, {
          error: e.message,
          code: e.code,
        });
      }
    })();
  });

  // ---- health ---------------------------------------------------------------------------------------------------

  let listening = false;
  const ready = (): boolean => synced && listening && !stopping;
  const health = createServer((req, res) => {
    if (req.url === '/healthz/ready') {
      res
        .writeHead(ready() ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready() ? 'ok\n' : 'not ready\n');
      return;
    }
    res.writeHead(404).end();
  });

  // ---- start ----------------------------------------------------------------------------------------------------

  const resync = setInterval(enqueueAll, settings.resyncSeconds * 1000);
  resync.unref();
  const stop = async (): Promise<void> => {
    stopping = true;
    clearInterval(resync);
    markSynced();
    await queue.stop();
    await Promise.all([pods.stop(), namespaces.stop()]);
    await Promise.all([handover.close(), closeServer(cniServer), closeServer(health)]);
    // The redirect stays in every captured pod on purpose: an agent restart must not take pods out of the mesh.
  };
  try {
    health.listen(settings.healthPort);
    await once(health, 'listening');
    await listenUnix(cniServer, settings.cniEventSocket);
    await Promise.all([pods.synced, namespaces.synced]);
    synced = true;
    markSynced();
    enqueueAll();
    // The ztunnel is let in only after the first pass over every pod on the node, so its first snapshot is the
    // whole set: a ztunnel that is ready (snapshot received) serves every enrolled pod.
    // A pod that fails here is retried by the queue; it must not keep the agent from starting.
    await Promise.all(pods.list().map((p) => queue.settle(keyOf(p)).catch(() => undefined)));
    await handover.listen();
    listening = true;
    log(`node agent for ${settings.nodeName} ready`);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    healthPort: (health.address() as AddressInfo).port,
    handover,
    ready,
    captured: () => new Map([...captured].map(([k, v]) => [k, v.pod])),
    podAdded,
    podDeleted,
    stop,
  };
}
