// Bench support: CPU time and memory of a process tree from /proc (Linux only). A proxy is measured
// as its leader plus every live descendant (pgpool forks one child per client slot); the leader's
// cutime/cstime also carries the CPU of children it has already reaped, so a child that exits
// mid-run is still counted exactly once.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();
const PAGE_BYTES = (() => {
  const r = spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 4096;
})();

interface StatFields {
  ppid: number;
  ticks: number; // utime + stime + cutime + cstime
  rssBytes: number;
}

function readStat(pid: number): StatFields | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is in parentheses and may contain spaces: split after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] = state (field 3), so field N is f[N - 3].
  if (f[0] === 'Z') return null;
  const num = (n: number) => Number(f[n - 3] ?? 0);
  return { ppid: num(4), ticks: num(14) + num(15) + num(16) + num(17), rssBytes: num(24) * PAGE_BYTES };
}

/** The pid and all its live descendants. */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const st = readStat(pid);
    if (!st) continue;
    let list = children.get(st.ppid);
    if (!list) children.set(st.ppid, (list = []));
    list.push(pid);
  }
  const out: number[] = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

export interface TreeSample {
  atMs: number; // epoch ms (fractional)
  cpuUs: number; // cumulative CPU of the tree
  rssBytes: number; // sum of current RSS over the tree
  processes: number;
}

export function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One sample of a tree; with `pids` given, reads only those (cheap), else walks /proc. */
export function sampleTree(rootPid: number, pids?: readonly number[]): TreeSample {
  const list = pids ?? processTree(rootPid);
  let ticks = 0;
  let rss = 0;
  let n = 0;
  for (const pid of list) {
    const st = readStat(pid);
    if (!st) continue;
    ticks += st.ticks;
    rss += st.rssBytes;
    n++;
  }
  return { atMs: nowEpochMs(), cpuUs: (ticks * 1e6) / CLK_TCK, rssBytes: rss, processes: n };
}

function statusField(pid: number, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function pssBytes(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const m = /^Pss:\s+(\d+) kB/m.exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface MemoryReport {
  hwmBytes: number; // sum of VmHWM (peak RSS since start) over the tree
  pssBytes: number; // sum of PSS now: shared pages counted once across the tree
  processes: number;
}

/** Peak and proportional memory of a tree's processes; reads smaps, so call it outside measured windows. */
export function memoryOfTree(pids: readonly number[]): MemoryReport {
  let hwm = 0;
  let pss = 0;
  for (const pid of pids) {
    hwm += statusField(pid, 'VmHWM');
    pss += pssBytes(pid);
  }
  return { hwmBytes: hwm, pssBytes: pss, processes: pids.filter((p) => existsSync(`/proc/${p}`)).length };
}

/**
 * Samples a tree every intervalMs until stopped. /proc is walked once, when the sampler is made
 * (a walk reads every process's stat: slow on a loaded host, and it would perturb the window); the
 * proxies keep their processes for the whole run (Pgpool-II: child_life_time = 0), and a child that
 * exits is still counted through its parent's cutime.
 */
export class TreeSampler {
  readonly samples: TreeSample[] = [];
  readonly pids: readonly number[];
  private timer: NodeJS.Timeout | null = null;
  private readonly rootPid: number;

  constructor(rootPid: number) {
    this.rootPid = rootPid;
    this.pids = processTree(rootPid);
  }

  start(intervalMs: number): void {
    this.samples.push(sampleTree(this.rootPid, this.pids));
    this.timer = setInterval(() => this.samples.push(sampleTree(this.rootPid, this.pids)), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.samples.push(sampleTree(this.rootPid, this.pids));
  }
}
