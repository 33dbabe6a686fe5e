// Unit tests: the launcher script and argv, without running them.
import { describe, expect, it } from 'vitest';
import { launcherArgv, launcherScript, shellQuote, type LauncherPlan } from './launcher.ts';

const tools = { ip: '/ip', unshare: '/unshare', sh: '/sh', mount: '/mount', mkdir: '/mkdir' };
const plan: LauncherPlan = {
  netns: 'akt-kl-0b4c3d2e1111',
  tmpfsDirs: ['/run/secrets'],
  mounts: [
    { source: '/pods/u/vol/cfg', target: '/etc/app', readOnly: true, kind: 'dir' },
    { source: "/pods/u/vol/it's", target: '/etc/app/x.conf', readOnly: false, kind: 'file' },
  ],
  hostname: 'web-0',
  workingDir: '/srv',
  argv: ['node', 'server.js'],
};

describe('launcher', () => {
  it('quotes for sh', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('covers fresh parents with tmpfs, binds in order, then remounts read-only, then reports ready and execs', () => {
    expect(launcherScript(plan, tools).split('\n')).toEqual([
      'exec 4>&2 2>&3',
      "'/mount' -t tmpfs -o mode=0755,size=1m ambit-mountpoints '/run/secrets' || exit 125",
      "'/mkdir' -p '/etc/app' || exit 125",
      "'/mount' --rbind '/pods/u/vol/cfg' '/etc/app' || exit 125",
      "'/mkdir' -p '/etc/app' || exit 125",
      "[ -e '/etc/app/x.conf' ] || : > '/etc/app/x.conf' || exit 125",
      `'/mount' --rbind '/pods/u/vol/it'\\''s' '/etc/app/x.conf' || exit 125`,
      "'/mount' -o remount,bind,ro '/etc/app' || exit 125",
      "printf '%s' 'web-0' > /proc/sys/kernel/hostname || exit 125",
      "cd '/srv' || exit 125",
      'unset PWD',
      'unset OLDPWD',
      `command -v "$1" >/dev/null 2>&1 || { printf 'executable file not found in $PATH: %s\\n' "$1" >&2; exit 127; }`,
      "printf '%s\\n' 'ambit-launcher-ready' >&3",
      'exec 2>&4 4>&- 3>&-',
      'exec "$@"',
      '',
    ]);
  });

  it('enters the netns, then a slave mount namespace (and a UTS one when a hostname is set)', () => {
    const { file, args } = launcherArgv(plan, tools);
    expect(file).toBe('/ip');
    expect(args.slice(0, 9)).toEqual([
      'netns',
      'exec',
      'akt-kl-0b4c3d2e1111',
      '/unshare',
      '--mount',
      '--propagation',
      'slave',
      '--uts',
      '--',
    ]);
    expect(args.slice(-3)).toEqual(['ambit-launcher', 'node', 'server.js']);
    const { hostname: _h, ...noHost } = plan;
    expect(launcherArgv(noHost, tools).args).not.toContain('--uts');
  });
});
