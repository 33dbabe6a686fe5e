// @ambit/ztunnel: the per-node L4 proxy. The process is main.ts; these are its parts, for tests and benchmarks.
export {
  Ztunnel,
  DEFAULT_PORTS,
  type HandedPod,
  type ZtunnelOptions,
  type ZtunnelPorts,
} from './proxy/ztunnel.ts';
export { nativeSockets, PROXY_MARK, type Sockets } from './proxy/sockets.ts';
export { CertManager, type CertificateSource, type WorkloadCertificate } from './identity/cert-manager.ts';
export { ZtunnelMetrics } from './telemetry/metrics.ts';
export { planOutbound, type OutboundPlan } from './plan/outbound.ts';
export { decideInbound, describeDecision } from './plan/inbound.ts';
export { CaClient, type CaClientOptions } from './identity/ca-client.ts';
