// The one error type the box network throws, with a string `code` per failure kind.

export type NetworkErrorCode =
  | 'ERR_NETWORK_PLAN' // the box name, node names or pod CIDRs are not acceptable
  | 'ERR_NETWORK_PREREQUISITE' // not root, or a tool (ip, iptables, sysctl) is missing
  | 'ERR_NETWORK_IN_USE' // the box's names (netns, links, chains) or its address ranges already exist on the host
  | 'ERR_NETWORK_COMMAND' // a command creating or changing the network failed
  | 'ERR_NETWORK_EXEC' // a command run inside a node netns for the caller failed
  | 'ERR_NETWORK_REAP' // teardown or reap finished but something of the box is still there
  | 'ERR_NETWORK_TORN_DOWN'; // the network was used after teardown()

export class NetworkError extends Error {
  readonly code: NetworkErrorCode;

  constructor(code: NetworkErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NetworkError';
    this.code = code;
  }
}

/** A failed child process: what ran, how it ended and what it said. */
export class CommandError extends NetworkError {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(
    code: 'ERR_NETWORK_COMMAND' | 'ERR_NETWORK_EXEC',
    argv: readonly string[],
    exitCode: number | null,
    stderr: string,
    options?: ErrorOptions,
  ) {
    const how = exitCode === null ? 'did not finish' : `exited ${exitCode}`;
    const said = stderr.trim() === '' ? '' : `: ${stderr.trim()}`;
    super(code, `\`${argv.join(' ')}\` ${how}${said}`, options);
    this.name = 'CommandError';
    this.argv = argv;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}
