// The config channel's public surface (the gRPC config server and per-proxy scoping), for proxies' tests that run
// against the real server: `@ambit/operator/distribute`.
export {
  ConfigServer,
  SubscriptionError,
  type ConfigServerOptions,
  type NackReport,
  type Subscriber,
} from './config-server.ts';
export { ztunnelScope, type FullConfig, type ProxyConfig } from './scope.ts';
