// renderMesh: a golden file of the whole output, plus the properties that matter for security and for the
// reconciler (labels, owners, kinds), asserted one by one so a snapshot update cannot wave them through.
import { describe, expect, it } from 'vitest';
import {
  COMPONENT_NAMESPACE,
  CONTROL_PLANE_AUDIENCE,
  GATEWAY_CONTROLLER,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  OWNER_KIND_LABEL,
  WAYPOINT_CONTROLLER,
  type KubeObject,
} from './contract.ts';
import { RenderError } from './errors.ts';
import { meshObjectKinds, renderMesh } from './mesh.ts';
import { toYamlDocuments } from './serialize.ts';
import { at, envValue, FACTS, find, mesh, podOf, rulesOf } from './testing/fixtures.ts';

const objects = renderMesh(mesh(), FACTS);
const ztunnel = podOf(find(objects, 'DaemonSet', 'ztunnel'));
const nodeAgent = podOf(find(objects, 'DaemonSet', 'ambit-node-agent'));

describe('renderMesh', () => {
  it('matches the golden file', async () => {
    await expect(toYamlDocuments(objects)).toMatchFileSnapshot('__snapshots__/mesh.yaml');
  });

  it('renders the same bytes twice', () => {
    expect(toYamlDocuments(renderMesh(mesh(), FACTS))).toBe(toYamlDocuments(objects));
  });

  it('labels every object as the operator’s and makes the Mesh its controller', () => {
    for (const o of objects) {
      expect(o.metadata.labels).toMatchObject({
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [OWNER_KIND_LABEL]: 'Mesh',
        'app.kubernetes.io/part-of': 'ambit',
        'app.kubernetes.io/name': o.metadata.name,
      });
      expect(o.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'ambit.dev/v1alpha1',
          kind: 'Mesh',
          name: 'default',
          uid: mesh().metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
  });

  it('puts namespaced objects in ambit-system and never renders the namespace itself', () => {
    const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding', 'GatewayClass']);
    for (const o of objects) {
      expect(o.metadata.namespace).toBe(clusterScoped.has(o.kind) ? undefined : COMPONENT_NAMESPACE);
    }
    expect(objects.map((o) => o.kind)).not.toContain('Namespace');
  });

  it('emits exactly the kinds it declares for pruning', () => {
    const kinds = (list: readonly { apiVersion: string; kind: string }[]) =>
      new Set(list.map((k) => `${k.apiVersion} ${k.kind}`));
    expect(kinds(objects)).toEqual(kinds(meshObjectKinds));
  });

  it('renders the four GatewayClasses with Ambit’s controllers', () => {
    const classes = objects.filter((o) => o.kind === 'GatewayClass');
    expect(
      Object.fromEntries(classes.map((c) => [c.metadata.name, at(c, 'spec', 'controllerName')])),
    ).toEqual({
      'ambit-waypoint': WAYPOINT_CONTROLLER,
      'istio-waypoint': WAYPOINT_CONTROLLER,
      ambit: GATEWAY_CONTROLLER,
      istio: GATEWAY_CONTROLLER,
    });
  });

  it('leaves no cdk8s bookkeeping in the output', () => {
    expect(JSON.stringify(objects)).not.toContain('cdk8s.io/');
  });

  it('refuses a Mesh without a uid (it could not own anything)', () => {
    const noUid = { ...mesh(), metadata: { name: 'default' } };
    expect(() => renderMesh(noUid, FACTS)).toThrow(RenderError);
  });
});

describe('ztunnel', () => {
  it('adds exactly NET_ADMIN, SYS_ADMIN and NET_RAW to nothing, and is not privileged', () => {
    expect(ztunnel.container.securityContext).toEqual({
      runAsUser: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'SYS_ADMIN', 'NET_RAW'] },
    });
  });

  it('does not share the host network', () => {
    expect(ztunnel.pod.hostNetwork).not.toBe(true);
  });

  it('opens the pod netns paths the node agent hands over, through a read-only HostToContainer mount', () => {
    const mounts = ztunnel.container.volumeMounts as { mountPath: string }[];
    expect(mounts.find((m) => m.mountPath === '/var/run/netns')).toEqual({
      name: 'netns',
      mountPath: '/var/run/netns',
      readOnly: true,
      mountPropagation: 'HostToContainer',
    });
    expect((ztunnel.pod.volumes as { name: string }[]).find((v) => v.name === 'netns')).toEqual({
      name: 'netns',
      hostPath: { path: '/var/run/netns', type: '' },
    });
  });

  it('has no apiserver token, only a projected control-plane one, and no role anywhere', () => {
    expect(ztunnel.pod.automountServiceAccountToken).toBe(false);
    expect(at(find(objects, 'ServiceAccount', 'ztunnel'), 'automountServiceAccountToken')).toBe(false);
    const credentials = (ztunnel.pod.volumes as { projected?: unknown }[]).find((v) => v.projected);
    expect(at(credentials, 'projected', 'sources', 0, 'serviceAccountToken')).toEqual({
      audience: CONTROL_PLANE_AUDIENCE,
      expirationSeconds: 3600,
      path: 'token',
    });
    const subjects = objects
      .filter((o) => o.kind.endsWith('RoleBinding'))
      .flatMap((b) => (b.subjects ?? []) as { name: string }[]);
    expect(subjects.map((s) => s.name)).not.toContain('ztunnel');
  });

  it('runs on every node, ahead of other pods, one node at a time', () => {
    expect(ztunnel.pod.tolerations).toEqual([
      { operator: 'Exists', effect: 'NoSchedule' },
      { operator: 'Exists', effect: 'NoExecute' },
      { key: 'CriticalAddonsOnly', operator: 'Exists' },
    ]);
    expect(ztunnel.pod.priorityClassName).toBe('system-node-critical');
    expect(at(find(objects, 'DaemonSet', 'ztunnel'), 'spec', 'updateStrategy')).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1 },
    });
  });

  it('defaults to the release image and modest requests without limits', () => {
    expect(ztunnel.container.image).toBe('registry.example/ambit/ztunnel:1.2.3');
    expect(ztunnel.container.imagePullPolicy).toBe('IfNotPresent');
    expect(ztunnel.container.resources).toEqual({ requests: { cpu: '200m', memory: '128Mi' } });
    expect(envValue(ztunnel.container, 'TRUST_DOMAIN')).toBe('cluster.local');
    expect(envValue(ztunnel.container, 'CONTROL_PLANE_ADDRESS')).toBe(
      'ambit-control-plane.ambit-system.svc:15010',
    );
  });
});

describe('node agent', () => {
  it('adds exactly NET_ADMIN, SYS_ADMIN and SYS_PTRACE, on the host network', () => {
    expect(at(nodeAgent.container, 'securityContext', 'capabilities')).toEqual({
      drop: ['ALL'],
      add: ['NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE'],
    });
    expect(at(nodeAgent.container, 'securityContext', 'privileged')).toBe(false);
    expect(nodeAgent.pod.hostNetwork).toBe(true);
  });

  it('sees new pod network namespaces through a read-only HostToContainer mount', () => {
    const mounts = nodeAgent.container.volumeMounts as { mountPath: string }[];
    expect(mounts.find((m) => m.mountPath === '/var/run/netns')).toEqual({
      name: 'netns',
      mountPath: '/var/run/netns',
      readOnly: true,
      mountPropagation: 'HostToContainer',
    });
  });

  it('may only read pods and namespaces', () => {
    const rules = rulesOf(find(objects, 'ClusterRole', 'ambit-node-agent'));
    for (const rule of rules) {
      expect(rule.verbs).toEqual(['get', 'list', 'watch']);
      expect(rule.apiGroups).toEqual(['']);
    }
    expect(rules.flatMap((r) => r.resources).sort()).toEqual(['namespaces', 'pods']);
    expect(at(find(objects, 'ClusterRoleBinding', 'ambit-node-agent'), 'subjects')).toEqual([
      { apiGroup: '', kind: 'ServiceAccount', name: 'ambit-node-agent', namespace: COMPONENT_NAMESPACE },
    ]);
  });
});

describe('Mesh spec', () => {
  function ztunnelOf(objects: KubeObject[]) {
    return podOf(find(objects, 'DaemonSet', 'ztunnel')).container;
  }

  it('changes the rendered DaemonSet when image or log level change', () => {
    const changed = ztunnelOf(
      renderMesh(mesh({ ztunnel: { image: 'mirror.example/ztunnel:dev', logLevel: 'debug' } }), FACTS),
    );
    expect(changed.image).toBe('mirror.example/ztunnel:dev');
    expect(envValue(changed, 'LOG_LEVEL')).toBe('debug');
    expect(envValue(ztunnel.container, 'LOG_LEVEL')).toBe('info');
  });

  it('passes pull policy, resources (replacing the defaults) and trust domain through', () => {
    const spec = {
      trustDomain: 'example.org',
      nodeAgent: { imagePullPolicy: 'Always' as const, resources: { limits: { cpu: 1, memory: '1Gi' } } },
    };
    const rendered = renderMesh(mesh(spec), FACTS);
    const agent = podOf(find(rendered, 'DaemonSet', 'ambit-node-agent')).container;
    expect(agent.imagePullPolicy).toBe('Always');
    expect(agent.resources).toEqual({ limits: { cpu: 1, memory: '1Gi' } });
    expect(envValue(ztunnelOf(rendered), 'TRUST_DOMAIN')).toBe('example.org');
  });

  it('passes imagePullSecrets to both DaemonSets', () => {
    const rendered = renderMesh(mesh({ imagePullSecrets: [{ name: 'regcred' }, { name: 'mirror' }] }), FACTS);
    for (const name of ['ztunnel', 'ambit-node-agent']) {
      expect(podOf(find(rendered, 'DaemonSet', name)).pod.imagePullSecrets).toEqual([
        { name: 'regcred' },
        { name: 'mirror' },
      ]);
    }
    expect(ztunnel.pod.imagePullSecrets).toBeUndefined();
  });
});
