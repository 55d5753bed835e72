/**
 * The isolating containerizer's supervisor: the shell script that runs a
 * container (joins its cgroups, enters its pid and mount namespaces, mounts
 * its volumes, records the exit status), and how that status is read back.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { ContainerExit } from './containerizer.js';
import { shellQuote } from './volume-mounts.js';

export { shellQuote } from './volume-mounts.js';

/** A shell line that moves the shell itself into each cgroup (`cgroup.procs` files); a failure exits 125. */
export function joinCgroupsScript(procsFiles: readonly string[]): string {
  if (procsFiles.length === 0) return '';
  const files = procsFiles.map(shellQuote).join(' ');
  return `for f in ${files}; do echo $$ > "$f" || { echo "agora: cannot join cgroup $f" >&2; exit 125; }; done\n`;
}

/**
 * The pid namespace's init: mounts the container's volumes (in its own mount namespace), runs the command,
 * forwards SIGTERM/SIGINT to the whole namespace, exits with its status.
 */
const NS_INIT = [
  '"$@" &',
  'c=$!',
  "trap 'kill -TERM -1 2>/dev/null' TERM INT",
  'while :; do wait "$c"; rc=$?; kill -0 "$c" 2>/dev/null || break; done',
  // A wait interrupted by the trap returns 128+signal; if the command ended meanwhile, the shell
  // has its real status: ask once more (127 means the status was already collected above).
  'wait "$c" 2>/dev/null; last=$?; [ "$last" -ne 127 ] && rc=$last',
  'exit $rc',
].join('\n');

/**
 * The supervisor script: join the cgroups, run the command (in a pid namespace and a private mount namespace,
 * where its volumes are mounted first; or not), record its status.
 */
export function supervisorScript(opts: {
  procsFiles: string[];
  pidNamespace: boolean;
  unshare: string;
  statusFile: string;
  /** Shell lines run by the namespace's init before the command (volume mounts, `mountCommands`). */
  mounts?: string;
}): string {
  const join_ = joinCgroupsScript(opts.procsFiles);
  const run = opts.pidNamespace
    ? `${shellQuote(opts.unshare)} --pid --mount --propagation private --fork --kill-child /bin/sh -c ${shellQuote(`${opts.mounts ?? ''}${NS_INIT}`)} agora-init "$@"`
    : '"$@"';
  const status = shellQuote(opts.statusFile);
  const tmp = shellQuote(`${opts.statusFile}.tmp`);
  return `trap : TERM INT\n${join_}${run}\nrc=$?\necho "$rc" > ${tmp} && mv -f ${tmp} ${status}\nexit $rc\n`;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

/** A shell exit status: above 128 means the command was killed by signal (status − 128). */
export function exitFromStatus(rc: number): ContainerExit {
  const signal = rc > 128 ? SIGNAL_NAMES.get(rc - 128) : undefined;
  return signal === undefined ? { code: rc, signal: null } : { code: null, signal };
}

export function readStatusFile(file: string): number | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    const n = Number(text);
    // An empty file is no status (Number('') would read as a success).
    return text !== '' && Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Sandbox disk usage in bytes (`du -sk`, as Mesos' disk/du isolator). */
export function diskUsageBytes(dir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('du', ['-sk', dir], { timeout: 60_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(Number(stdout.split(/\s+/)[0] ?? 0) * 1024);
    });
  });
}
