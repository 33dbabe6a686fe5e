// @ambit/hbone: HTTP/2 CONNECT over mutual TLS, the client pool and the server, shared by ztunnel and waypoint.
export { HboneClient } from './client.ts';
export type { ConnectRequest, HboneClientOptions, HboneDestination, HboneSource } from './client.ts';
export { MAX_BAGGAGE_LENGTH, MAX_BAGGAGE_MEMBERS, parseBaggage } from './baggage.ts';
export { HboneServer } from './server.ts';
export type { HboneServerOptions, Served, ServerTls } from './server.ts';
export type { ConnectDecision, Connection } from './connection.ts';
export {
  connectRequestHeaders,
  formatForwardedFor,
  parseAddress,
  parseForwardedFor,
  parseInboundRequest,
} from './connect-headers.ts';
export type { ConnectHeaderOptions, ConnectHeaders, HostPort, InboundRequest } from './connect-headers.ts';
export { asError, HboneError } from './errors.ts';
export type { HboneErrorCode } from './errors.ts';
export {
  CONNECTION_WINDOW_BYTES,
  H2_SETTINGS,
  MAX_FRAME_BYTES,
  MAX_SESSION_MEMORY_MB,
  MAX_STREAMS_PER_SESSION,
  STREAM_WINDOW_BYTES,
} from './h2-settings.ts';
export { openH2OverTls, widenConnectionWindow } from './h2-over-tls.ts';
export type { OpenSessionOptions } from './h2-over-tls.ts';
export { openConnectStream } from './connect-over-h2.ts';
export {
  identityOf,
  matchIdentity,
  parseSubjectAltName,
  peerIdentity,
  spiffeIdsOf,
  verifyPeerIdentity,
} from './identity.ts';
export type { SubjectAltName } from './identity.ts';
export { poolKey } from './pool-key.ts';
export type { PoolKeyParts } from './pool-key.ts';
export { SessionPool } from './session-pool.ts';
export type { Lease, PoolStats, SessionPoolOptions } from './session-pool.ts';
export { defaultSocketFactory } from './socket-factory.ts';
export type { DialOptions, SocketFactory } from './socket-factory.ts';
export { resetDuplex, splice } from './splice.ts';
export type { SpliceResult } from './splice.ts';
export {
  ALPN_H2,
  clientTlsOptions,
  SERVER_TLS_OPTIONS,
  secureContextOptions,
  TLS_VERSIONS,
} from './tls-options.ts';
export type { WorkloadTlsMaterial } from './tls-options.ts';
