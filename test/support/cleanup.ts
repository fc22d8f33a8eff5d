// Test support: make sure no postmaster outlives the test run and no data dir is left behind.
// Three layers: (1) cluster.stop() in the tests; (2) process exit / SIGINT / SIGTERM / SIGHUP handlers
// and, in vitest workers, loss of the parent: synchronous, for whatever this process still tracks;
// (3) a sweep by postmaster.pid of run roots whose owning process is gone (global setup runs it at
// start, so even a SIGKILLed run is cleaned up by the next). Kills only postmasters whose working directory is the data dir named in
// their own postmaster.pid, and processes whose working directory is a dir recorded for a detached
// daemon (Bucardo) inside a run root: never a process by name.
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidState } from './pg-bin.js';

const trackedPids = new Set<number>();
const trackedDirs = new Set<string>();
/** Working directories of daemons that detach (Bucardo): every process running there is killed. */
const trackedDaemonDirs = new Set<string>();
let handlersInstalled = false;

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGQUIT (immediate shutdown) to every pid, wait up to `timeoutMs`, then SIGKILL what is left. */
export function killPostmastersSync(pids: Iterable<number>, timeoutMs = 10_000): void {
  const live = [...pids].filter((p) => pidState(p) === 'alive');
  for (const pid of live) signal(pid, 'SIGQUIT');
  const deadline = Date.now() + timeoutMs;
  while (live.some((p) => pidState(p) === 'alive') && Date.now() < deadline) sleepSync(20);
  for (const pid of live) if (pidState(pid) === 'alive') signal(pid, 'SIGKILL');
}

function cleanupSync(): void {
  // postmasters we started, and any other process's postmasters inside dirs we own (workers' clusters
  // inside the run root, when this is the main process)
  const pids = new Set(trackedPids);
  for (const dir of trackedDirs) for (const pid of findPostmastersUnder(dir)) pids.add(pid);
  killPostmastersSync(pids, 5_000);
  trackedPids.clear();
  for (const dir of trackedDaemonDirs) killProcessesInSync(dir);
  trackedDaemonDirs.clear();
  for (const dir of trackedDirs) for (const d of findDaemonDirsUnder(dir)) killProcessesInSync(d);
  for (const dir of trackedDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  trackedDirs.clear();
}

function onSignal(sig: NodeJS.Signals): void {
  cleanupSync();
  // Keep the default behaviour (terminate) when nobody else handles the signal.
  if (process.listenerCount(sig) === 1) {
    process.removeAllListeners(sig);
    process.kill(process.pid, sig);
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // Prepend: vitest's own SIGINT/exit listeners call process.exit(), and a nested process.exit() skips
  // every 'exit' listener registered after theirs.
  process.prependListener('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.prependListener(sig, onSignal);
  // A vitest worker whose main process died keeps running its test (and its postmasters) as an
  // orphan: when the IPC channel to the parent goes away, clean up and leave. Not process.exit():
  // vitest replaces it in workers with a function that throws and reports over the dead channel.
  if (isVitestWorker()) {
    process.once('disconnect', leaveOrphaned);
    if (!process.connected) leaveOrphaned();
  }
}

function isVitestWorker(): boolean {
  return Boolean(process.env.TINYPOOL_WORKER_ID) && typeof process.send === 'function';
}

function leaveOrphaned(): void {
  cleanupSync();
  process.kill(process.pid, 'SIGKILL');
}

// In a vitest worker, watch the parent from the start (not only once a cluster was started here): a
// worker orphaned while it waited for a shared cluster would otherwise go on to start its own.
if (isVitestWorker()) installHandlers();

/** Remember a postmaster pid so it is killed if this process exits before stopping it. */
export function trackPid(pid: number): void {
  installHandlers();
  trackedPids.add(pid);
}
export function untrackPid(pid: number): void {
  trackedPids.delete(pid);
}

/**
 * Remember a directory that detached daemons run in (Bucardo: setsid and fork, and its MCP respawns
 * itself through a new `bucardo start`, in a new process group, so neither our pid tracking nor a
 * parent-death signal nor a process group reaches all of it; each keeps the working directory it was
 * started in). At exit every process whose working directory is `dir` is killed. A file
 * `daemon-dir` in it lets a later run's sweep (findDaemonDirsUnder) do the same.
 */
export function trackDaemonDir(dir: string): void {
  installHandlers();
  trackedDaemonDirs.add(dir);
  writeFileSync(join(dir, 'daemon-dir'), 'processes running in this directory are killed at clean-up\n');
}
export function untrackDaemonDir(dir: string): void {
  trackedDaemonDirs.delete(dir);
}

/** Live (not zombie) pids whose working directory is `dir`. */
export function processesIn(dir: string): number[] {
  const members: number[] = [];
  let want: string;
  try {
    want = realpathSync(dir);
  } catch {
    return members;
  }
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) !== want) continue;
      if (pidState(Number(name)) === 'alive') members.push(Number(name));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return members;
}

/** SIGKILL to every process running in `dir`, until none is left (at most 5 s: a daemon may fork meanwhile). */
export function killProcessesInSync(dir: string): void {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const live = processesIn(dir);
    if (live.length === 0 || Date.now() > deadline) return;
    for (const pid of live) signal(pid, 'SIGKILL');
    sleepSync(20);
  }
}

/** Dirs at or below `root` (depth ≤ `depth`) holding a file named `name`. */
function dirsHolding(root: string, name: string, depth: number): string[] {
  const found: string[] = [];
  if (depth < 0 || !existsSync(root)) return found;
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const e of entries) {
    if (e.isFile() && e.name === name) found.push(root);
    else if (e.isDirectory()) found.push(...dirsHolding(join(root, e.name), name, depth - 1));
  }
  return found;
}

/** Dirs below `root` (depth ≤ 4) holding a `daemon-dir` file (see trackDaemonDir). */
export function findDaemonDirsUnder(root: string, depth = 4): string[] {
  return dirsHolding(root, 'daemon-dir', depth);
}

/** Remember a directory to delete at exit (after the tracked postmasters are gone). */
export function trackDir(dir: string): void {
  installHandlers();
  trackedDirs.add(dir);
}
export function untrackDir(dir: string): void {
  trackedDirs.delete(dir);
}

/** Postmaster pids of data dirs below `root` (depth ≤ 4) that are really running there. */
export function findPostmastersUnder(root: string, depth = 4): number[] {
  const found: number[] = [];
  for (const dir of dirsHolding(root, 'postmaster.pid', depth)) {
    const pid = postmasterPidIfRunning(dir);
    if (pid !== null) found.push(pid);
  }
  return found;
}

/** The pid in `dataDir/postmaster.pid` if that process is alive and its cwd is this data dir. */
export function postmasterPidIfRunning(dataDir: string): number | null {
  try {
    const [pidLine] = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(pidLine);
    if (!Number.isInteger(pid) || pid <= 0 || pidState(pid) !== 'alive') return null;
    return readlinkSync(`/proc/${pid}/cwd`) === realpathSync(dataDir) ? pid : null;
  } catch {
    return null;
  }
}

/** Kill every postmaster and daemon (see trackDaemonDir) below `root` and delete it. */
export function destroyTreeSync(root: string): void {
  for (const dir of findDaemonDirsUnder(root)) killProcessesInSync(dir);
  killPostmastersSync(findPostmastersUnder(root));
  rmSync(root, { recursive: true, force: true, maxRetries: 3 });
}

/** Run roots are named `meridian-test-<owner pid>`; sweep those whose owner is gone. */
export function sweepStaleRunRoots(bases: readonly string[]): string[] {
  const swept: string[] = [];
  for (const base of new Set(bases)) {
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const m = /^meridian-test-(\d+)$/.exec(name);
      if (!m || pidState(Number(m[1])) === 'alive') continue;
      destroyTreeSync(join(base, name));
      swept.push(join(base, name));
    }
  }
  return swept;
}
