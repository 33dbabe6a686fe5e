// The node agent's public surface: the redirect rules, their netns application, the handover protocol (both ends;
// the ztunnel imports HandoverClient and SnapshotTracker from here), the CNI plugin and the daemon.
export * from './redirect-rules.ts';
export {
  NetnsRules,
  NetnsRulesError,
  execRunner,
  type CommandRunner,
  type RulesOutcome,
} from './netns-rules.ts';
export {
  HandoverClient,
  HandoverError,
  HandoverServer,
  SnapshotTracker,
  parseAck,
  parseWireMessage,
  type Ack,
  type Delivery,
  type HandoverMessage,
  type PodNetns,
  type WireMessage,
} from './handover.ts';
export { desiredCapture, planPod, type PodFacts, type Step } from './decide.ts';
export { podNetnsName, uidNetnsResolver, type NetnsResolver } from './netns-resolver.ts';
export { parseSettings, SettingsError, type Settings } from './settings.ts';
export { startAgent, type Agent, type AgentDeps, type RedirectInstaller } from './agent.ts';
export { runPlugin, CniPluginError, CniCode } from './cni-plugin.ts';
