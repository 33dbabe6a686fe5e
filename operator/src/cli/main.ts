#!/usr/bin/env node
// The `ambit` command line: `ambit config dump --node N [--kubeconfig PATH]` and `ambit waypoint ...`.
import { KubeConfig } from '@kubernetes/client-node';
import { parseArgs } from 'node:util';
import { configDump } from './config-dump.ts';
import { runWaypoint } from './waypoint-run.ts';
import { parseWaypointArgs, UsageError, WAYPOINT_USAGE } from './waypoint.ts';

const USAGE = `usage:
  ambit config dump --node NODE [--kubeconfig PATH]   print the config the ztunnel of NODE receives, as JSON
${WAYPOINT_USAGE}`;

function kubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/** `ambit waypoint ...`: its flags differ per verb, so it parses its own arguments. */
async function waypoint(argv: string[]): Promise<number> {
  let command;
  try {
    command = parseWaypointArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`ambit: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (command.verb === 'help') {
    console.log(USAGE);
    return 0;
  }
  await runWaypoint(kubeConfig(command.kubeconfig), command, (line) => console.log(line));
  return 0;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'waypoint') return waypoint(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      node: { type: 'string' },
      kubeconfig: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals[0] === 'config' && positionals[1] === 'dump') {
    if (!values.node) {
      console.error(`ambit: config dump needs --node\n${USAGE}`);
      return 2;
    }
    const dump = await configDump(kubeConfig(values.kubeconfig), values.node);
    console.log(JSON.stringify(dump, null, 2));
    return 0;
  }
  console.error(`ambit: unknown command ${JSON.stringify(positionals.join(' '))}\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`ambit: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
