// The config model and its pure evaluators.
export * from './model.ts';
export { DATAPLANE_MODE_LABELS, isEnrolled } from './enrollment.ts';
export { authorize, matchMatches, policyMatches, type ConnectionFacts, type Decision } from './authorize.ts';
export { ipInCidr, matchesPattern, parseIpv4Cidr } from './matchers.ts';
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
