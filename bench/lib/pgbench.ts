// Bench support: one pgbench run against one target, with per-transaction logs (--log) parsed into
// mean and p99 latency and the completion time of every transaction, and the proxy's process tree
// sampled meanwhile, so CPU per transaction is taken over a window that excludes connection set-up
// and tear-down (the transactions counted are those that completed inside the window).
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pgTool, BENCH_DB, BENCH_PASSWORD, BENCH_USER } from './postgres.js';
import { run, tail } from './proc.js';
import { memoryOfTree, TreeSampler, type TreeSample } from './procstat.js';

export type QueryMode = 'simple' | 'extended' | 'prepared';

export interface ScriptFile {
  path: string;
  weight: number;
}

export interface PgbenchSpec {
  port: number;
  clients: number;
  durationS: number;
  mode: QueryMode;
  builtin?: 'select-only' | 'tpcb-like';
  files?: readonly ScriptFile[];
  logDir: string;
  /** Root pid of the proxy to measure, or null for a direct connection. */
  proxyPid: number | null;
}

export interface RunMetrics {
  ok: boolean;
  /** pgbench failed, timed out or reported failed transactions (not merely: no transaction in time). */
  hardError: boolean;
  error: string | null;
  tps: number; // pgbench's, without initial connection time
  transactions: number;
  failed: number;
  latMeanMs: number; // from the per-transaction log
  latP99Ms: number;
  cpuUsPerTx: number | null; // proxy tree, inside the steady window
  windowS: number | null;
  rssPeakMB: number | null; // max over samples of the tree's summed RSS
  hwmMB: number | null; // sum of VmHWM over the tree after the run (peak since the proxy started)
  pssMB: number | null; // sum of PSS over the tree after the run (shared pages counted once)
  proxyProcesses: number | null;
  durationS: number; // pgbench -T
  wallS: number;
}

const SAMPLE_INTERVAL_MS = 250;

/** What one pgbench run needs to reach a target and what to run there. */
export type PgbenchScript = Pick<PgbenchSpec, 'port' | 'clients' | 'mode' | 'builtin' | 'files'>;

/**
 * pgbench's arguments for one run against the bench database: connection, clients, threads (at
 * most 2: the machine has 2 cores), the limit (`-T seconds` or `-t transactions`), mode and script.
 */
export function pgbenchArgs(spec: PgbenchScript, limit: readonly string[], extra: readonly string[] = []): string[] {
  const args = ['-n', '-h', '127.0.0.1', '-p', String(spec.port), '-U', BENCH_USER, '-c', String(spec.clients), '-j', String(Math.min(2, spec.clients))];
  args.push(...limit, '-M', spec.mode, ...extra); // -n: no vacuum before the run (done once after loading)
  if (spec.builtin) args.push('-b', spec.builtin);
  for (const f of spec.files ?? []) args.push('-f', `${f.path}@${f.weight}`);
  args.push(BENCH_DB);
  return args;
}

function num(re: RegExp, text: string): number {
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
}

interface LogData {
  latUs: Float64Array;
  endUs: Float64Array; // completion times, epoch µs, sorted
  failed: number;
}

function readLogs(dir: string, prefixBase: string): LogData {
  const lat: number[] = [];
  const end: number[] = [];
  let failed = 0;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefixBase)) continue;
    const text = readFileSync(join(dir, name), 'utf8');
    let pos = 0;
    while (pos < text.length) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = text.length;
      const line = text.slice(pos, nl);
      pos = nl + 1;
      if (line.length === 0) continue;
      // client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]
      const f = line.split(' ');
      const t = Number(f[2]);
      if (!Number.isFinite(t)) {
        failed++;
        continue;
      }
      lat.push(t);
      end.push(Number(f[4]) * 1e6 + Number(f[5]));
    }
  }
  const endUs = Float64Array.from(end).sort();
  return { latUs: Float64Array.from(lat), endUs, failed };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}

/** Index of the first element ≥ x in a sorted array. */
function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** CPU per transaction over the widest window of samples inside the steady part of the run. */
function cpuWindow(samples: readonly TreeSample[], endUs: Float64Array): { cpuUsPerTx: number; windowS: number } | null {
  if (endUs.length < 100 || samples.length < 2) return null;
  const firstMs = endUs[0]! / 1000;
  const lastMs = endUs[endUs.length - 1]! / 1000;
  const margin = Math.min(300, (lastMs - firstMs) * 0.1);
  const inside = samples.filter((s) => s.atMs >= firstMs + margin && s.atMs <= lastMs - margin);
  if (inside.length < 2) return null;
  const a = inside[0]!;
  const b = inside[inside.length - 1]!;
  const count = lowerBound(endUs, b.atMs * 1000) - lowerBound(endUs, a.atMs * 1000);
  if (count <= 0) return null;
  return { cpuUsPerTx: (b.cpuUs - a.cpuUs) / count, windowS: (b.atMs - a.atMs) / 1000 };
}

export async function runPgbench(spec: PgbenchSpec, tag: string): Promise<RunMetrics> {
  mkdirSync(spec.logDir, { recursive: true });
  const prefixBase = `log-${tag}`;
  const prefix = join(spec.logDir, prefixBase);
  const sampler = spec.proxyPid !== null ? new TreeSampler(spec.proxyPid) : null;
  sampler?.start(SAMPLE_INTERVAL_MS);
  const r = await run(pgTool('pgbench'), pgbenchArgs(spec, ['-T', String(spec.durationS)], ['--log', `--log-prefix=${prefix}`]), {
    env: { ...process.env, PGPASSWORD: BENCH_PASSWORD, PGSSLMODE: 'disable', PGGSSENCMODE: 'disable', PGAPPNAME: 'pgbench' },
    timeoutMs: spec.durationS * 1000 + 30_000, // a hung target costs half a minute, not the run
  });
  sampler?.stop();
  const mem = sampler ? memoryOfTree(sampler.pids) : null;
  const out = r.stdout;
  const logs = readLogs(spec.logDir, prefixBase);
  for (const name of readdirSync(spec.logDir)) if (name.startsWith(prefixBase)) rmSync(join(spec.logDir, name), { force: true });
  const transactions = num(/number of transactions actually processed: (\d+)/, out);
  const failedOut = num(/number of failed transactions: (\d+)/, out);
  const tps = num(/tps = ([\d.]+) \(without initial connection time\)/, out);
  const sortedLat = logs.latUs.slice().sort();
  let sum = 0;
  for (const v of sortedLat) sum += v;
  const win = sampler ? cpuWindow(sampler.samples, logs.endUs) : null;
  const rssPeak = sampler ? Math.max(...sampler.samples.map((s) => s.rssBytes)) : null;
  const hasFailures = (Number.isFinite(failedOut) && failedOut > 0) || logs.failed > 0;
  const hardError = r.code !== 0 || r.timedOut || hasFailures;
  const noTx = !hardError && !(transactions > 0);
  const ok = !hardError && !noTx && Number.isFinite(tps);
  let error: string | null = null;
  if (noTx) error = `no transaction completed in ${spec.durationS} s (connecting ${spec.clients} clients took the whole run)`;
  else if (!ok) error = (r.timedOut ? 'pgbench timed out: ' : `pgbench exit ${r.code}: `) + tail(r.stderr || out, 4).replace(/\s+/g, ' ');
  return {
    ok,
    hardError,
    error,
    tps: Number.isFinite(tps) ? tps : 0,
    transactions: Number.isFinite(transactions) ? transactions : logs.latUs.length,
    failed: Number.isFinite(failedOut) ? failedOut : logs.failed,
    latMeanMs: sortedLat.length ? sum / sortedLat.length / 1000 : NaN,
    latP99Ms: percentile(sortedLat, 0.99) / 1000,
    cpuUsPerTx: win?.cpuUsPerTx ?? null,
    windowS: win?.windowS ?? null,
    rssPeakMB: rssPeak !== null ? rssPeak / 2 ** 20 : null,
    hwmMB: mem ? mem.hwmBytes / 2 ** 20 : null,
    pssMB: mem ? mem.pssBytes / 2 ** 20 : null,
    proxyProcesses: mem ? mem.processes : null,
    durationS: spec.durationS,
    wallS: r.durationMs / 1000,
  };
}
