// Entry point of the node agent image: settings from the environment, the agent, and a clean stop on SIGTERM.
import { startAgent } from './agent.ts';
import { SettingsError, parseSettings } from './settings.ts';

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
};

let settings;
try {
  settings = parseSettings(process.env);
} catch (err) {
  if (!(err instanceof SettingsError)) throw err;
  log(`node-agent: ${err.message}`);
  process.exit(2);
}

const agent = await startAgent(settings, { log });
let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  log(`node-agent: ${signal}, stopping (pod redirects stay in place)`);
  agent.stop().then(
    () => {
      process.exitCode = 0;
    },
    (err: unknown) => {
      log(`node-agent: stop failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
