// The ztunnel: one per node, the L4 proxy that every captured pod's traffic goes through (DESIGN §1, §7).
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { COMPONENT_NAMESPACE, NODE_AGENT_SOCKET_DIR, POD_NETNS_DIR } from './contract.ts';
import { NAME_LABEL } from './labels.ts';
import {
  DOWNWARD_ENV,
  finishPodTemplate,
  mountControlPlaneCredentials,
  podLabels,
  proxyEnv,
  pullSecretFields,
  runOnEveryNode,
  setPodSpecFields,
} from './pod-spec.ts';
import type { ContainerSettings, Resources } from './settings.ts';

export const ZTUNNEL = 'ztunnel';

/** Requests when the Mesh sets none: DESIGN §7 measures ~0.06 vCPU and 12 MB per 1,000 req/s. No limits. */
export const ZTUNNEL_DEFAULT_RESOURCES: Resources = { requests: { cpu: '200m', memory: '128Mi' } };

export interface ZtunnelProps {
  /** Image, pull policy, log level and resources of the ztunnel container. */
  readonly container: ContainerSettings;
  /** SPIFFE trust domain of the workload identities the ztunnel serves. */
  readonly trustDomain: string;
  /**
   * Secrets (in COMPONENT_NAMESPACE) to pull the image with.
   *
   * @default none
   */
  readonly imagePullSecrets?: readonly string[];
}

/**
 * The ztunnel DaemonSet and its ServiceAccount. The ServiceAccount is bound to no Role: the ztunnel reads nothing
 * from the apiserver; it gets its config and certificates from the control plane with a token of the control
 * plane's audience.
 *
 * Not hostNetwork (as Istio's ztunnel): the node agent hands it each pod's network namespace over a unix socket in
 * NODE_AGENT_SOCKET_DIR, as the path of the namespace's bind mount under POD_NETNS_DIR (Node cannot pass file
 * descriptors; see dataplane/node-agent/src/handover.ts), and it opens its listeners inside that namespace.
 */
export class ZtunnelDaemonSet extends Construct {
  constructor(scope: Construct, id: string, props: ZtunnelProps) {
    super(scope, id);
    const { container } = props;
    const metadata = { name: ZTUNNEL, namespace: COMPONENT_NAMESPACE, labels: { [NAME_LABEL]: ZTUNNEL } };
    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata,
      automountToken: false,
    });
    const socketDir = kplus.Volume.fromHostPath(this, 'SocketDir', 'ambit-run', {
      path: NODE_AGENT_SOCKET_DIR,
      type: kplus.HostPathVolumeType.DIRECTORY_OR_CREATE,
    });
    // The node agent hands pods over as netns paths under this directory (handover.ts), which the ztunnel opens.
    const netns = kplus.Volume.fromHostPath(this, 'Netns', 'netns', { path: POD_NETNS_DIR });
    const daemonSet = new kplus.DaemonSet(this, 'DaemonSet', {
      metadata,
      select: false,
      podMetadata: { labels: podLabels(ZTUNNEL) },
      serviceAccount,
      // Its only token is the projected control-plane one.
      automountServiceAccountToken: false,
      securityContext: { user: 0, ensureNonRoot: false },
      containers: [
        {
          name: ZTUNNEL,
          image: container.image,
          imagePullPolicy: container.imagePullPolicy,
          ports: [
            { number: 15008, name: 'hbone' },
            { number: 15020, name: 'metrics' },
            { number: 15021, name: 'health' },
          ],
          readiness: kplus.Probe.fromHttpGet('/healthz/ready', { port: 15021 }),
          envVariables: {
            ...DOWNWARD_ENV,
            ...proxyEnv(props.trustDomain),
            LOG_LEVEL: kplus.EnvValue.fromValue(container.logLevel),
          },
          volumeMounts: [
            { path: NODE_AGENT_SOCKET_DIR, volume: socketDir },
            {
              path: POD_NETNS_DIR,
              volume: netns,
              readOnly: true,
              // Namespaces of pods created after the ztunnel started must appear inside its mount.
              propagation: kplus.MountPropagation.HOST_TO_CONTAINER,
            },
          ],
          securityContext: {
            // Root for the capabilities below to be effective; everything else is denied.
            user: 0,
            ensureNonRoot: false,
            privileged: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: {
              drop: [kplus.Capability.ALL],
              add: [
                // Transparent sockets (IP_TRANSPARENT) for inbound TPROXY, and SO_MARK 0x539 on its own packets so
                // the in-pod rules let them through (DESIGN §7).
                kplus.Capability.NET_ADMIN,
                // setns() into a pod's network namespace from the fd the node agent handed over.
                kplus.Capability.SYS_ADMIN,
                // Raw and transparent-socket operations the kernel gates on NET_RAW as well (Istio's ztunnel adds it).
                kplus.Capability.NET_RAW,
              ],
            },
          },
        },
      ],
    });
    daemonSet.select(kplus.LabelSelector.of({ labels: { [NAME_LABEL]: ZTUNNEL } }));
    runOnEveryNode(daemonSet);
    setPodSpecFields(daemonSet, pullSecretFields(props.imagePullSecrets ?? []));
    mountControlPlaneCredentials(daemonSet);
    finishPodTemplate(daemonSet, container.resources);
  }
}
