// What up.ts prints once the box is up: the commands a newcomer runs next, from another shell (no I/O).
import { AMBIT_NAMESPACE } from './ambit-install.ts';

/** The namespace the suggested commands mesh. */
export const DEMO_NAMESPACE = 'demo';

/**
 * The lines after the report: the KUBECONFIG export, then with Ambit how to mesh a namespace and see a request go
 * over HBONE (each command works as printed, in order), or without it how to install Ambit.
 */
export function nextSteps(kubeconfigPath: string, ambit: boolean): string[] {
  const ns = DEMO_NAMESPACE;
  const common = [
    'From another shell:',
    `  export KUBECONFIG=${kubeconfigPath}`,
    '  kubectl get nodes -o wide; kubectl get pods -A -o wide',
  ];
  if (!ambit) {
    return [
      ...common,
      'Install Ambit as on any cluster (the box runs its images from this checkout):',
      '  kubectl apply --server-side -k manifests/ && kubectl apply -f manifests/examples/mesh.yaml',
      '  kubectl wait --for=condition=Ready mesh/default --timeout=180s',
    ];
  }
  return [
    ...common,
    `  kubectl get mesh; kubectl -n ${AMBIT_NAMESPACE} get pods -o wide`,
    'Mesh a namespace and send a request through the ztunnels (no pod restarts):',
    `  kubectl create namespace ${ns}`,
    `  kubectl -n ${ns} create deployment echo --image=ambit/echo-http --port=8080`,
    `  kubectl -n ${ns} expose deployment echo --port=80 --target-port=8080`,
    `  kubectl -n ${ns} run curl --image=curlimages/curl --command -- sleep infinity`,
    `  kubectl -n ${ns} wait --for=condition=Ready pod --all --timeout=60s`,
    `  kubectl label namespace ${ns} istio.io/dataplane-mode=ambient`,
    "  kubectl wait --for=jsonpath='{.status.workloads.enrolled}'=2 mesh/default --timeout=30s",
    `  kubectl -n ${ns} exec curl -- curl -s http://echo/`,
    `  kubectl -n ${AMBIT_NAMESPACE} logs -l app.kubernetes.io/name=ambit-node-agent | grep captured`,
    '  kubectl get mesh   # WORKLOADS counts the enrolled pods',
  ];
}
