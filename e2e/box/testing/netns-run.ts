// Test helper: runs a command inside a netns with `ip netns exec` (so /etc/netns/<netns>/ files apply, as in the
// pod) and resolves with its exit code and output, whatever the code.
import { spawn } from 'node:child_process';

export interface NetnsResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type NetnsRun = (argv: readonly string[]) => Promise<NetnsResult>;

/** A runner for `netns`; each command is killed after `timeoutMs` (code 124 then, as timeout(1) says). */
export function inNetns(netns: string, timeoutMs = 30_000): NetnsRun {
  return (argv) =>
    new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code: timedOut ? 124 : (code ?? 128), stdout, stderr });
      });
    });
}
