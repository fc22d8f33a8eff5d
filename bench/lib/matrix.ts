// Bench support: runs one phase's workloads × client counts × rounds, with the targets interleaved
// inside every round (direct, PgBouncer, Pgpool-II, the bare relays, Meridian on each runtime and
// with 2 workers, then again), so slow drifts of a shared
// machine hit every target alike. A target that dies or fails twice in a row is dropped from the rest
// of the phase with its reason, which bounds the run time.
import { join } from 'node:path';
import { runPgbench, type RunMetrics, type ScriptFile } from './pgbench.js';
import { isAborted, type Daemon } from './proc.js';
import { summarizeCell, type CellResult, type PhaseResult, type TargetInfo } from './results.js';
import type { Workload } from './workloads.js';

export interface LiveTarget {
  info: TargetInfo;
  port: number;
  daemon: Daemon | null; // null: direct
}

export interface MatrixSpec {
  phase: PhaseResult;
  targets: LiveTarget[];
  workloads: readonly Workload[];
  clients: readonly number[];
  rounds: number;
  durationFor: (clients: number) => number;
  logDir: string;
  routingFiles: readonly ScriptFile[];
  /** Epoch ms after which no new cell starts (Infinity: no limit). */
  deadlineMs: number;
}

export const TARGET_ORDER = [
  'direct',
  'pgbouncer',
  'pgbouncer-session',
  'pgpool',
  'node-floor',
  'bun-floor',
  'meridian-base',
  'meridian',
  'meridian-bun',
  'meridian-w2',
];

const f1 = (n: number | null, digits = 1) => (n === null || !Number.isFinite(n) ? '–' : n.toFixed(digits));

function progressLine(phase: string, w: string, c: number, round: number, t: string, m: RunMetrics): string {
  const head = `[${phase}] ${w.padEnd(15)} c=${String(c).padEnd(3)} r${round} ${t.padEnd(17)}`;
  if (!m.ok) return `${head} FAILED ${m.error ?? ''}`;
  return (
    `${head} tps ${f1(m.tps, 0).padStart(6)}  lat ${f1(m.latMeanMs, 2)}/${f1(m.latP99Ms, 2)} ms` +
    (m.cpuUsPerTx !== null ? `  cpu ${f1(m.cpuUsPerTx)} µs/tx` : '') +
    (m.rssPeakMB !== null ? `  rss ${f1(m.rssPeakMB, 0)} MB` : '')
  );
}

export function applies(t: LiveTarget, w: Workload, clients = 0): boolean {
  return t.info.status === 'ok' && !(w.id in t.info.excludes) && clients <= (t.info.maxClients ?? Infinity);
}

async function runOne(spec: MatrixSpec, t: LiveTarget, w: Workload, clients: number, durationS: number, tag: string): Promise<RunMetrics> {
  return runPgbench(
    {
      port: t.port,
      clients,
      durationS,
      mode: w.mode,
      ...(w.builtin ? { builtin: w.builtin } : { files: spec.routingFiles }),
      logDir: spec.logDir,
      proxyPid: t.daemon ? t.daemon.pid : null,
    },
    tag,
  );
}

/**
 * Unrecorded 2 s runs per proxy, on the first workload it runs at the largest client count, until
 * every client gets going (≥ 10 transactions each) or 20 s have passed. Proxies open server
 * connections lazily, PgBouncer one at a time: on a loaded host a session-pooling PgBouncer needs
 * several seconds to open 128, and round 1 would measure that instead of the proxy.
 */
export async function warmUp(spec: MatrixSpec): Promise<void> {
  for (const t of spec.targets) {
    const clients = Math.min(Math.max(...spec.clients), t.info.maxClients ?? Infinity);
    const w = spec.workloads.find((x) => applies(t, x));
    if (!w || t.daemon === null) continue;
    const deadline = Date.now() + 20_000;
    for (let i = 1; !isAborted(); i++) {
      const m = await runOne(spec, t, w, clients, 2, `warm-${t.info.id}-${i}`);
      if (m.hardError) {
        console.log(`[${spec.phase.id}] warm-up of ${t.info.id} failed: ${m.error}`);
        break;
      }
      if (m.transactions >= 10 * clients || Date.now() > deadline) break;
    }
  }
}

export async function runMatrix(spec: MatrixSpec): Promise<void> {
  const failStreak = new Map<string, number>();
  const longer = new Map<string, number>(); // target:clients → -T that leaves time after connecting
  for (const w of spec.workloads) {
    for (const clients of spec.clients) {
      if (Date.now() > spec.deadlineMs) {
        spec.phase.notes.push(`Time budget (--budget-min) reached: ${w.id} from ${clients} clients on, and later workloads, were not run.`);
        console.log(`[${spec.phase.id}] time budget reached: stopping this phase`);
        return;
      }
      const cell: CellResult = { workload: w.id, workloadLabel: w.label, clients, runs: [], summary: [] };
      spec.phase.cells.push(cell);
      for (let round = 1; round <= spec.rounds; round++) {
        for (const t of spec.targets) {
          if (isAborted()) return;
          if (!applies(t, w, clients)) continue;
          if (t.daemon?.hasExited) {
            t.info.status = 'skipped';
            t.info.reason = `${t.daemon.name} exited during the benchmark (code ${t.daemon.exitCode}); see its log`;
            console.log(`[${spec.phase.id}] ${t.info.id} dropped: ${t.info.reason}`);
            continue;
          }
          const tag = `${w.id}-${clients}-${round}-${t.info.id}`;
          const key = `${t.info.id}:${clients}`;
          let m = await runOne(spec, t, w, clients, longer.get(key) ?? spec.durationFor(clients), tag);
          if (!m.ok && !m.hardError) {
            // pgbench's -T includes connecting, and a loaded host forks backends slowly (direct, 128
            // clients): rerun with the connect time added, and keep that duration for this target and
            // client count, so later rounds do not waste a failed run first.
            const d = Math.min(30, m.durationS + Math.ceil(m.wallS));
            longer.set(key, d);
            console.log(`${progressLine(spec.phase.id, w.id, clients, round, t.info.id, m)}; again with -T ${d}`);
            m = await runOne(spec, t, w, clients, d, `${tag}-retry`);
          }
          cell.runs.push({ round, target: t.info.id, metrics: m });
          console.log(progressLine(spec.phase.id, w.id, clients, round, t.info.id, m));
          // A run that finished no transaction in time (connections slow on a loaded host) is not the
          // target's fault; errors and failed transactions are.
          const streak = m.hardError ? (failStreak.get(t.info.id) ?? 0) + 1 : 0;
          failStreak.set(t.info.id, streak);
          if (streak >= 2) {
            t.info.status = 'skipped';
            t.info.reason = `dropped after two failed runs in a row: ${m.error ?? 'failed'}`;
            console.log(`[${spec.phase.id}] ${t.info.id} ${t.info.reason}`);
          }
        }
      }
      cell.summary = summarizeCell(cell, TARGET_ORDER);
    }
  }
}

export function logDirFor(root: string, phase: string): string {
  return join(root, 'pgbench-logs', phase);
}
