// renderWaypoint: a golden file, plus where the objects go, who owns them, and how the pieces select each other.
import { describe, expect, it } from 'vitest';
import {
  CONTROL_PLANE_AUDIENCE,
  GATEWAY_NAME_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  OWNER_KIND_LABEL,
} from './contract.ts';
import { RenderError } from './errors.ts';
import { toYamlDocuments } from './serialize.ts';
import { at, envValue, FACTS, find, mesh, podOf, waypointGateway } from './testing/fixtures.ts';
import { renderWaypoint, waypointObjectKinds } from './waypoint.ts';

const gateway = waypointGateway('reviews-waypoint', 'bookinfo');
const objects = renderWaypoint(gateway, mesh(), FACTS);
const deployment = find(objects, 'Deployment', 'reviews-waypoint');
const { pod, container } = podOf(deployment);

describe('renderWaypoint', () => {
  it('matches the golden file', async () => {
    await expect(toYamlDocuments(objects)).toMatchFileSnapshot('__snapshots__/waypoint.yaml');
  });

  it('puts every object in the Gateway’s namespace, under its name, owned by it', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      'Deployment/bookinfo/reviews-waypoint',
      'PodDisruptionBudget/bookinfo/reviews-waypoint',
      'Service/bookinfo/reviews-waypoint',
      'ServiceAccount/bookinfo/reviews-waypoint',
    ]);
    for (const o of objects) {
      expect(o.metadata.labels).toMatchObject({
        [MANAGED_BY_LABEL]: MANAGED_BY,
        [OWNER_KIND_LABEL]: 'Gateway',
        [GATEWAY_NAME_LABEL]: 'reviews-waypoint',
        'app.kubernetes.io/name': 'reviews-waypoint',
      });
      expect(o.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          name: 'reviews-waypoint',
          uid: gateway.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
  });

  it('emits exactly the kinds it declares for pruning', () => {
    const kinds = (list: readonly { apiVersion: string; kind: string }[]) =>
      new Set(list.map((k) => `${k.apiVersion} ${k.kind}`));
    expect(kinds(objects)).toEqual(kinds(waypointObjectKinds));
  });

  it('selects its pods, from the Deployment, Service and budget alike, by the Gateway name label', () => {
    const selector = { [GATEWAY_NAME_LABEL]: 'reviews-waypoint' };
    expect(at(deployment, 'spec', 'selector', 'matchLabels')).toEqual(selector);
    expect(at(deployment, 'spec', 'template', 'metadata', 'labels')).toMatchObject({
      ...selector,
      'istio.io/dataplane-mode': 'none',
    });
    expect(at(find(objects, 'Service', 'reviews-waypoint'), 'spec', 'selector')).toEqual(selector);
    expect(at(find(objects, 'PodDisruptionBudget', 'reviews-waypoint'), 'spec')).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: selector },
    });
  });

  it('serves HBONE and status on its Service', () => {
    expect(at(find(objects, 'Service', 'reviews-waypoint'), 'spec', 'ports')).toEqual([
      { name: 'mesh', port: 15008, targetPort: 15008, appProtocol: 'hbone' },
      { name: 'status-port', port: 15021, targetPort: 15021 },
    ]);
  });

  it('runs one non-root, capability-less replica with its own identity', () => {
    expect(at(deployment, 'spec', 'replicas')).toBe(1);
    expect(pod.serviceAccountName).toBe('reviews-waypoint');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(container.securityContext).toEqual({
      runAsUser: 1337,
      runAsGroup: 1337,
      runAsNonRoot: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const credentials = (pod.volumes as { projected?: unknown }[]).find((v) => v.projected);
    expect(at(credentials, 'projected', 'sources', 0, 'serviceAccountToken', 'audience')).toBe(
      CONTROL_PLANE_AUDIENCE,
    );
  });

  it('takes image, log level and pull secrets from the Mesh', () => {
    const rendered = renderWaypoint(
      gateway,
      mesh({
        waypoint: { image: 'mirror.example/waypoint:dev', logLevel: 'warn' },
        imagePullSecrets: [{ name: 'r' }],
      }),
      FACTS,
    );
    const c = podOf(find(rendered, 'Deployment', 'reviews-waypoint'));
    expect(c.container.image).toBe('mirror.example/waypoint:dev');
    expect(envValue(c.container, 'LOG_LEVEL')).toBe('warn');
    expect(c.pod.imagePullSecrets).toEqual([{ name: 'r' }]);
    expect(container.image).toBe('registry.example/ambit/waypoint:1.2.3');
    expect(envValue(container, 'WAYPOINT_NAME')).toBe('reviews-waypoint');
  });

  it('refuses a Gateway without namespace or uid', () => {
    const { namespace: _, ...noNamespace } = gateway.metadata;
    expect(() => renderWaypoint({ ...gateway, metadata: noNamespace }, mesh(), FACTS)).toThrow(RenderError);
    const { uid: __, ...noUid } = gateway.metadata;
    expect(() => renderWaypoint({ ...gateway, metadata: noUid }, mesh(), FACTS)).toThrow(RenderError);
  });
});
