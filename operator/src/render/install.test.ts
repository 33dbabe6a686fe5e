// renderInstall: the operator's permissions, asserted rule by rule (the golden copy is manifests/install.yaml,
// kept current by `make manifests-check`), and that nothing in the install looks like the operator's to prune.
import { describe, expect, it } from 'vitest';
import { COMPONENT_NAMESPACE, MANAGED_BY_LABEL, OWNER_KIND_LABEL, type KubeObject } from './contract.ts';
import { renderInstall } from './install.ts';
import { renderMesh } from './mesh.ts';
import { toYamlDocuments } from './serialize.ts';
import { at, FACTS, find, mesh, podOf, rulesOf, type PolicyRule } from './testing/fixtures.ts';

const crd: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'meshes.ambit.dev' },
  spec: { group: 'ambit.dev' },
};
const objects = renderInstall(FACTS, [crd]);
const clusterRules = rulesOf(find(objects, 'ClusterRole', 'ambit-operator'));
const namespaceRules = rulesOf(find(objects, 'Role', 'ambit-operator'));

/** Whether `rules` allow `verb` on `group`/`resource` (named `name`, when given). */
function allows(rules: PolicyRule[], verb: string, group: string, resource: string, name?: string): boolean {
  return rules.some(
    (r) =>
      r.verbs.includes(verb) &&
      (r.apiGroups ?? []).includes(group) &&
      (r.resources ?? []).includes(resource) &&
      ((r.resourceNames ?? []).length === 0 || (name !== undefined && r.resourceNames?.includes(name))),
  );
}

describe('renderInstall', () => {
  it('passes the CRDs through first, then the namespace', () => {
    expect(objects[0]).toBe(crd);
    const yaml = toYamlDocuments(objects);
    expect(yaml.indexOf('kind: CustomResourceDefinition')).toBeLessThan(yaml.indexOf('kind: Namespace'));
    expect(yaml.indexOf('kind: Namespace')).toBeLessThan(yaml.indexOf('kind: ServiceAccount'));
  });

  it('carries nothing the operator would take for its own and prune', () => {
    for (const o of objects) {
      expect(o.metadata.labels?.[MANAGED_BY_LABEL]).toBeUndefined();
      expect(o.metadata.labels?.[OWNER_KIND_LABEL]).toBeUndefined();
      expect(o.metadata.ownerReferences).toBeUndefined();
    }
  });

  it('grants no wildcard and no cluster-wide access to Secrets', () => {
    for (const rule of [...clusterRules, ...namespaceRules]) {
      expect([...rule.verbs, ...(rule.resources ?? []), ...(rule.apiGroups ?? [])]).not.toContain('*');
    }
    expect(clusterRules.flatMap((r) => r.resources)).not.toContain('secrets');
    expect(find(objects, 'Role', 'ambit-operator').metadata.namespace).toBe(COMPONENT_NAMESPACE);
    expect(allows(namespaceRules, 'create', '', 'secrets')).toBe(true);
    expect(allows(namespaceRules, 'delete', '', 'secrets')).toBe(false);
  });

  it('holds every permission the Mesh’s ClusterRoles grant (Kubernetes refuses to let it grant more)', () => {
    const granted = renderMesh(mesh(), FACTS)
      .filter((o) => o.kind === 'ClusterRole')
      .flatMap(rulesOf);
    expect(granted.length).toBeGreaterThan(0);
    for (const rule of granted) {
      for (const verb of rule.verbs) {
        for (const group of rule.apiGroups ?? []) {
          for (const resource of rule.resources ?? []) {
            expect(allows(clusterRules, verb, group, resource), `${verb} ${group}/${resource}`).toBe(true);
          }
        }
      }
    }
  });

  it('may change only the node agent’s ClusterRole and binding, though it may create any', () => {
    for (const kind of ['clusterroles', 'clusterrolebindings']) {
      expect(allows(clusterRules, 'create', 'rbac.authorization.k8s.io', kind)).toBe(true);
      expect(allows(clusterRules, 'update', 'rbac.authorization.k8s.io', kind, 'ambit-node-agent')).toBe(
        true,
      );
      expect(allows(clusterRules, 'update', 'rbac.authorization.k8s.io', kind, 'cluster-admin')).toBe(false);
      expect(allows(clusterRules, 'delete', 'rbac.authorization.k8s.io', kind, 'cluster-admin')).toBe(false);
    }
  });

  it('reviews tokens and writes status of what it translates', () => {
    expect(allows(clusterRules, 'create', 'authentication.k8s.io', 'tokenreviews')).toBe(true);
    expect(allows(clusterRules, 'patch', 'ambit.dev', 'meshes/status')).toBe(true);
    expect(allows(clusterRules, 'patch', 'security.istio.io', 'authorizationpolicies/status')).toBe(true);
    expect(allows(clusterRules, 'patch', 'gateway.networking.k8s.io', 'gateways/status')).toBe(true);
    expect(allows(clusterRules, 'create', 'gateway.networking.k8s.io', 'gateways')).toBe(false);
  });

  it('runs the operator as two non-root replicas behind the control-plane port', () => {
    const deployment = find(objects, 'Deployment', 'ambit-operator');
    const { pod, container } = podOf(deployment);
    expect(at(deployment, 'spec', 'replicas')).toBe(2);
    expect(container.image).toBe('registry.example/ambit/operator:1.2.3');
    expect(at(container, 'securityContext', 'runAsNonRoot')).toBe(true);
    expect(at(container, 'securityContext', 'runAsUser')).toBe(65532);
    expect(at(container, 'securityContext', 'capabilities')).toEqual({ drop: ['ALL'] });
    expect(at(container, 'securityContext', 'readOnlyRootFilesystem')).toBe(true);
    expect(pod.serviceAccountName).toBe('ambit-operator');
    expect(container.ports).toEqual([
      { containerPort: 15010, name: 'grpc-tls' },
      { containerPort: 8080, name: 'http' },
    ]);
    expect(at(container, 'readinessProbe', 'httpGet', 'path')).toBe('/readyz');
    expect(at(container, 'livenessProbe', 'httpGet', 'path')).toBe('/healthz');
  });
});
