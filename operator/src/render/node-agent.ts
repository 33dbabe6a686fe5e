// The node agent: one per node, the CNI plugin installer and in-pod redirect (DESIGN §7). It puts the capture
// rules inside each enrolled pod's network namespace and hands that namespace to the ztunnel.
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { COMPONENT_NAMESPACE, NODE_AGENT_SOCKET_DIR, POD_NETNS_DIR } from './contract.ts';
import { NAME_LABEL } from './labels.ts';
import {
  DOWNWARD_ENV,
  finishPodTemplate,
  podLabels,
  pullSecretFields,
  runOnEveryNode,
  setPodSpecFields,
} from './pod-spec.ts';
import type { ContainerSettings, Resources } from './settings.ts';

export const NODE_AGENT = 'ambit-node-agent';

export const NODE_AGENT_DEFAULT_RESOURCES: Resources = { requests: { cpu: '100m', memory: '64Mi' } };

/** Host directories the node agent works in, and where its container sees them. */
const HOST_MOUNTS = {
  /** It installs the CNI plugin binary here. */
  cniBin: { host: '/opt/cni/bin', container: '/host/opt/cni/bin' },
  /** It chains the plugin into the node's CNI configuration here. */
  cniConf: { host: '/etc/cni/net.d', container: '/host/etc/cni/net.d' },
  /** Pod network namespaces, at the same path, so netns paths from the CNI call work unchanged. */
  netns: { host: POD_NETNS_DIR, container: POD_NETNS_DIR },
  /** The host's processes: after a restart it finds the network namespaces of pods already enrolled here. */
  proc: { host: '/proc', container: '/host/proc' },
} as const;

export interface NodeAgentProps {
  /** Image, pull policy, log level and resources of the node-agent container. */
  readonly container: ContainerSettings;
  /**
   * Secrets (in COMPONENT_NAMESPACE) to pull the image with.
   *
   * @default none
   */
  readonly imagePullSecrets?: readonly string[];
}

/**
 * The node-agent DaemonSet, its ServiceAccount, and the ClusterRole (read pods and namespaces, to know which pods
 * are enrolled) bound to it. hostNetwork: it runs as the CNI plugin's server on the node.
 */
export class NodeAgentDaemonSet extends Construct {
  constructor(scope: Construct, id: string, props: NodeAgentProps) {
    super(scope, id);
    const { container } = props;
    const labels = { [NAME_LABEL]: NODE_AGENT };
    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: NODE_AGENT, namespace: COMPONENT_NAMESPACE, labels },
      automountToken: false,
    });
    const role = new kplus.ClusterRole(this, 'ClusterRole', { metadata: { name: NODE_AGENT, labels } });
    role.allowRead(kplus.ApiResource.PODS, kplus.ApiResource.NAMESPACES);
    new kplus.ClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: NODE_AGENT, labels },
      role,
    }).addSubjects(serviceAccount);

    const hostPath = (id: string, name: string, path: string, type?: kplus.HostPathVolumeType) =>
      kplus.Volume.fromHostPath(this, id, name, { path, ...(type && { type }) });
    const daemonSet = new kplus.DaemonSet(this, 'DaemonSet', {
      metadata: { name: NODE_AGENT, namespace: COMPONENT_NAMESPACE, labels },
      select: false,
      podMetadata: { labels: podLabels(NODE_AGENT) },
      serviceAccount,
      // The default token: it reads pods and namespaces from the apiserver.
      automountServiceAccountToken: true,
      hostNetwork: true,
      dns: { policy: kplus.DnsPolicy.CLUSTER_FIRST_WITH_HOST_NET },
      securityContext: { user: 0, ensureNonRoot: false },
      containers: [
        {
          name: NODE_AGENT,
          image: container.image,
          imagePullPolicy: container.imagePullPolicy,
          readiness: kplus.Probe.fromHttpGet('/healthz/ready', { port: 15021 }),
          envVariables: {
            NODE_NAME: DOWNWARD_ENV.NODE_NAME,
            POD_NAME: DOWNWARD_ENV.POD_NAME,
            POD_NAMESPACE: DOWNWARD_ENV.POD_NAMESPACE,
            LOG_LEVEL: kplus.EnvValue.fromValue(container.logLevel),
            CNI_BIN_DIR: kplus.EnvValue.fromValue(HOST_MOUNTS.cniBin.container),
            CNI_CONF_DIR: kplus.EnvValue.fromValue(HOST_MOUNTS.cniConf.container),
            HOST_PROC_DIR: kplus.EnvValue.fromValue(HOST_MOUNTS.proc.container),
          },
          volumeMounts: [
            {
              path: HOST_MOUNTS.cniBin.container,
              volume: hostPath('CniBin', 'cni-bin', HOST_MOUNTS.cniBin.host),
            },
            {
              path: HOST_MOUNTS.cniConf.container,
              volume: hostPath('CniConf', 'cni-conf', HOST_MOUNTS.cniConf.host),
            },
            {
              path: HOST_MOUNTS.netns.container,
              volume: hostPath('Netns', 'netns', HOST_MOUNTS.netns.host),
              readOnly: true,
              // Namespaces the runtime creates after the agent started must appear inside its mount.
              propagation: kplus.MountPropagation.HOST_TO_CONTAINER,
            },
            {
              path: HOST_MOUNTS.proc.container,
              volume: hostPath('Proc', 'host-proc', HOST_MOUNTS.proc.host),
              readOnly: true,
            },
            {
              path: NODE_AGENT_SOCKET_DIR,
              volume: hostPath(
                'SocketDir',
                'ambit-run',
                NODE_AGENT_SOCKET_DIR,
                kplus.HostPathVolumeType.DIRECTORY_OR_CREATE,
              ),
            },
          ],
          securityContext: {
            // Root to write the CNI plugin and configuration into root-owned host directories.
            user: 0,
            ensureNonRoot: false,
            privileged: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: {
              drop: [kplus.Capability.ALL],
              add: [
                // iptables rules, ip rules and routes inside each pod's network namespace (DESIGN §7).
                kplus.Capability.NET_ADMIN,
                // setns() into a pod's network namespace to install those rules.
                kplus.Capability.SYS_ADMIN,
                // Open /host/proc/<pid>/ns/net of other containers' processes (a ptrace access check).
                kplus.Capability.SYS_PTRACE,
              ],
            },
          },
        },
      ],
    });
    daemonSet.select(kplus.LabelSelector.of({ labels }));
    runOnEveryNode(daemonSet);
    setPodSpecFields(daemonSet, pullSecretFields(props.imagePullSecrets ?? []));
    finishPodTemplate(daemonSet, container.resources);
  }
}
