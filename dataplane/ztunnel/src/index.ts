// @ambit/ztunnel: the per-node L4 proxy. The process is main.ts; these are its parts, for tests and benchmarks.
export {
  Ztunnel,
  DEFAULT_PORTS,
  type HandedPod,
  type ZtunnelOptions,
  type ZtunnelPorts,
} from './proxy/ztunnel.ts';
export { nativeSockets, PROXY_MARK, type Sockets } from './proxy/sockets.ts';
export { podNetns, type NativePodNetwork } from './proxy/native-transport.ts';
export {
  DEFAULT_TRANSPORT,
  parseTransport,
  TRANSPORTS,
  ZTUNNEL_TRANSPORT,
  type TransportKind,
} from './config/settings.ts';
export { CertManager, type CertificateSource, type WorkloadCertificate } from './identity/cert-manager.ts';
export { ZtunnelMetrics } from './telemetry/metrics.ts';
export { planOutbound, type OutboundPlan } from './plan/outbound.ts';
export { decideInbound, describeDecision } from './plan/inbound.ts';
export { CaClient, type CaClientOptions } from './identity/ca-client.ts';
// Shared with the waypoint (issue 6), which holds certificates, presents them and serves admin ports the same way.
export { createKeyAndCsr, type KeyAndCsr } from './identity/csr.ts';
export { tlsMaterial } from './proxy/tls-material.ts';
export { startAdminServers, type AdminPorts, type AdminServers, type AdminSources } from './admin/servers.ts';
