// The `ghcr.io/ambit-mesh/node-agent` image as the box runs it: the node agent (dataplane/node-agent/src/main.ts,
// the Dockerfile's ENTRYPOINT) plus the CNI install step the rendered DaemonSet provides for (CNI_BIN_DIR and
// CNI_CONF_DIR on hostPath /opt/cni/bin and /etc/cni/net.d) but the agent does not do itself yet. Once it does,
// the catalogue entry runs main.ts directly and this file goes.
//
// Order, as istio-cni's: the agent first (it resolves once it serves its CNI event socket and has passed over the
// node's pods), then the plugin into the node's chain, re-checked every few seconds; on SIGTERM/SIGINT the plugin
// leaves the chain before the agent stops, so no pod waits on an agent that is gone.
import { pathToFileURL } from 'node:url';
import { repoPath } from '../program.ts';
import { AMBIT_CNI_TYPE, installCni, uninstallCni, type CniInstall } from './cni-install.ts';

const RECHECK_MS = 3_000;
const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} cni-install: ${line}\n`);
};

const binDir = process.env.CNI_BIN_DIR;
const confDir = process.env.CNI_CONF_DIR;
const install: CniInstall | undefined =
  binDir && confDir
    ? {
        binDir,
        confDir,
        pluginPath: repoPath('dataplane/node-agent/bin/ambit-cni'),
        plugin: {
          type: AMBIT_CNI_TYPE,
          // Where the agent listens (its default), as the node sees it: hostPath /var/run/ambit.
          eventSocket: process.env.CNI_EVENT_SOCKET || '/var/run/ambit/cni.sock',
        },
      }
    : undefined;

await import(pathToFileURL(repoPath('dataplane/node-agent/src/main.ts')).href);

if (install === undefined) {
  log('CNI_BIN_DIR or CNI_CONF_DIR unset: not chaining the plugin');
} else {
  const inst = install;
  let last = '';
  const check = (): void => {
    let said: string;
    try {
      const outcome = installCni(inst);
      said =
        outcome === 'waiting'
          ? `no conflist in ${inst.confDir} yet`
          : outcome === 'installed'
            ? `chained ${AMBIT_CNI_TYPE} into the node's conflist in ${inst.confDir}`
            : last;
    } catch (err) {
      said = `install failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (said !== last) log(said);
    last = said;
  };
  check();
  const timer = setInterval(check, RECHECK_MS);
  timer.unref();
  const leave = (signal: string): void => {
    clearInterval(timer);
    try {
      uninstallCni(inst);
      log(`${signal}: took ${AMBIT_CNI_TYPE} out of the node's conflist`);
    } catch (err) {
      log(`uninstall failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  // Before the agent's own handlers (registered when main.ts finished loading), which stop it.
  process.prependOnceListener('SIGTERM', () => leave('SIGTERM'));
  process.prependOnceListener('SIGINT', () => leave('SIGINT'));
}
