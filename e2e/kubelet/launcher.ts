// Pure launcher plan: the argv that enters the pod netns and a private mount namespace, binds volumes, then execs.
export interface LaunchMount {
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  /** What the source is, so the launcher makes the right kind of mount point. */
  readonly kind: 'dir' | 'file';
}

export interface LauncherPlan {
  /** netns to run in (the pod's, or the node's for hostNetwork pods). */
  readonly netns: string;
  /** Empty host directories to cover with a tmpfs first, so mount points made below them stay private. */
  readonly tmpfsDirs: readonly string[];
  /** In order; parents before children. */
  readonly mounts: readonly LaunchMount[];
  /** Sets the hostname in a UTS namespace of its own; omitted = share the node's. */
  readonly hostname?: string;
  /** The container's working directory; it must exist once the mounts are made. */
  readonly workingDir?: string;
  /** Environment names the container asked for that the shell would otherwise set on its own (PWD, OLDPWD). */
  readonly keepShellVars?: readonly string[];
  /** argv of the program: command then args. */
  readonly argv: readonly string[];
}

export interface LauncherTools {
  readonly ip: string;
  readonly unshare: string;
  readonly sh: string;
  readonly mount: string;
  readonly mkdir: string;
}

/** The fd the launcher reports on: tool errors while setting up, then `READY_LINE` just before exec. */
export const REPORT_FD = 3;
export const READY_LINE = 'ambit-launcher-ready';
/** Exit status when setting up failed (as `docker run` uses). */
export const SETUP_FAILED_EXIT = 125;
/** Exit status when the program is not found (as a shell uses). */
export const NOT_FOUND_EXIT = 127;

/** Single-quotes a string for sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The launcher script, run as `sh -c <script> launcher <argv…>`:
 * 1. stderr goes to the report fd while setting up, so tool errors never reach the container's log;
 * 2. tmpfs over the fresh parents, mount points created, every (recursive) bind made, then the read-only remounts
 *    (so a mount point can still be created inside a volume that ends up read-only);
 * 3. hostname, working directory, the program looked up on the container's PATH;
 * 4. stderr restored, READY written and the report fd closed, then exec: the program keeps the launcher's pid.
 */
export function launcherScript(plan: LauncherPlan, tools: LauncherTools): string {
  const q = shellQuote;
  const fail = `|| exit ${SETUP_FAILED_EXIT}`;
  const lines = ['exec 4>&2 2>&3'];
  for (const dir of plan.tmpfsDirs) {
    lines.push(`${q(tools.mount)} -t tmpfs -o mode=0755,size=1m ambit-mountpoints ${q(dir)} ${fail}`);
  }
  for (const m of plan.mounts) {
    if (m.kind === 'dir') {
      lines.push(`${q(tools.mkdir)} -p ${q(m.target)} ${fail}`);
    } else {
      const parent = m.target.slice(0, m.target.lastIndexOf('/')) || '/';
      lines.push(`${q(tools.mkdir)} -p ${q(parent)} ${fail}`);
      lines.push(`[ -e ${q(m.target)} ] || : > ${q(m.target)} ${fail}`);
    }
    // rbind, as containerd binds volumes: mounts below the source come along (a hostPath /var/run/netns carries the
    // pod netns already mounted there, not just empty files).
    lines.push(`${q(tools.mount)} --rbind ${q(m.source)} ${q(m.target)} ${fail}`);
  }
  for (const m of plan.mounts) {
    if (m.readOnly) lines.push(`${q(tools.mount)} -o remount,bind,ro ${q(m.target)} ${fail}`);
  }
  if (plan.hostname !== undefined) {
    lines.push(`printf '%s' ${q(plan.hostname)} > /proc/sys/kernel/hostname ${fail}`);
  }
  if (plan.workingDir !== undefined) lines.push(`cd ${q(plan.workingDir)} ${fail}`);
  const keep = new Set(plan.keepShellVars ?? []);
  for (const v of ['PWD', 'OLDPWD']) if (!keep.has(v)) lines.push(`unset ${v}`);
  lines.push(
    `command -v "$1" >/dev/null 2>&1 || { printf 'executable file not found in $PATH: %s\\n' "$1" >&2; exit ${NOT_FOUND_EXIT}; }`,
    `printf '%s\\n' ${q(READY_LINE)} >&${REPORT_FD}`,
    `exec 2>&4 4>&- ${REPORT_FD}>&-`,
    'exec "$@"',
  );
  return `${lines.join('\n')}\n`;
}

/** The full command line: ip netns exec → unshare (mount, maybe UTS; slave propagation) → sh launcher → program. */
export function launcherArgv(plan: LauncherPlan, tools: LauncherTools): { file: string; args: string[] } {
  return {
    file: tools.ip,
    args: [
      'netns',
      'exec',
      plan.netns,
      tools.unshare,
      '--mount',
      // slave, not private: mounts the node makes later (a new pod's /run/netns/<name>) still reach the container,
      // as a node agent expects of a HostToContainer /var/run/netns mount; its own binds never reach the host.
      '--propagation',
      'slave',
      ...(plan.hostname === undefined ? [] : ['--uts']),
      '--',
      tools.sh,
      '-c',
      launcherScript(plan, tools),
      'ambit-launcher',
      ...plan.argv,
    ],
  };
}
