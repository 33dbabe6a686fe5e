// The config model and its pure evaluators.
export * from './model.ts';
export * from './l7-model.ts';
export { DATAPLANE_MODE_LABELS, isEnrolled } from './enrollment.ts';
export {
  authorize,
  authorizeRequest,
  l7MatchMatches,
  matchMatches,
  policyMatches,
  policyMatchesRequest,
  type ConnectionFacts,
  type Decision,
  type RequestFacts,
} from './authorize.ts';
export { hostOf, ipInCidr, matchesHostPattern, matchesPattern, parseIpv4Cidr, pathOf } from './matchers.ts';
export {
  RecordError,
  authorizationFromProto,
  authorizationToProto,
  serviceFromProto,
  serviceToProto,
  workloadFromProto,
  workloadToProto,
} from './wire.ts';
export { applyPush, EMPTY_STATE, type ProxyState, type Rejection } from './apply-push.ts';
export { ConfigSubscription, type SubscriptionOptions } from './subscription.ts';
export { dumpRecords, type ConfigDump, type Records } from './dump.ts';
export {
  destinationPolicyFromProto,
  destinationPolicyToProto,
  routeTableFromProto,
  routeTableToProto,
} from './wire-l7.ts';
export { loadStaticConfig, parseStaticConfig, StaticConfigError } from './static-config.ts';
