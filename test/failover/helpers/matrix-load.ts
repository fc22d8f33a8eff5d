// Failover matrix support: the load every row runs through Meridian — pgbench tpcb-like with 8
// clients (transactions) beside pgbench select-only with 4 clients (autocommit reads), both bounded by
// -T and a kill timer — and what the clients saw: transactions, clients aborted and why (an unknown
// COMMIT outcome 08007, a replay mismatch 08006, anything else), and the longest latency of one
// transaction from pgbench's per-transaction log (-l). Owns the pgbench processes (reaped by
// runPgbench) and the log directory it makes (removed before it returns).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_USERS } from '../../support/cluster.js';
import { runPgbench } from '../../support/proc.js';
import type { RunningMeridian } from '../../helpers/meridian.js';
import { probeOnce, WRITE_PROBE } from '../../fault/helpers/fault-load.js';

/** What one pgbench run saw. */
export interface BenchOutcome {
  processed: number;
  timedOut: boolean;
  /** Clients pgbench ended at their first error (pgbench -n stops a client on any error). */
  abortedClients: number;
  /** Aborted by 08007: the COMMIT was in flight when the backend was lost (outcome unknown). */
  commitUnknown: number;
  /** Aborted by a replay whose results differed (08006, rolled back). */
  replayMismatch: number;
  /** Aborted by anything else: the first few lines. */
  otherErrors: string[];
  /** The longest transaction latency pgbench logged, in ms (null: none logged). */
  maxLatencyMs: number | null;
}

export interface MatrixLoad {
  tpcb: BenchOutcome;
  /** The autocommit reads. */
  reads: BenchOutcome;
}

export const TPCB_CLIENTS = 8;
export const READ_CLIENTS = 4;

const COMMIT_UNKNOWN = /may or may not have committed/;
const REPLAY_MISMATCH = /replaying it gave different results/;

/** Longest per-transaction latency (µs column 3 of `pgbench -l`) over the files starting with `prefix`. */
function maxLoggedLatencyMs(dir: string, prefix: string): number | null {
  let max: number | null = null;
  for (const f of readdirSync(dir)) {
    if (!f.startsWith(`${prefix}.`)) continue;
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (Number.isFinite(us) && line.length > 0) max = Math.max(max ?? 0, us / 1000);
    }
  }
  return max === null ? null : Math.round(max);
}

async function pgbench(port: number, seconds: number, dir: string, builtin: 'tpcb-like' | 'select-only', clients: number): Promise<BenchOutcome> {
  const prefix = builtin;
  const args = ['-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-n', '-c', String(clients), '-j', '2', '-T', String(seconds), '-b', builtin];
  const r = await runPgbench(
    [...args, '-l', `--log-prefix=${join(dir, prefix)}`, 'app'],
    { PGPASSWORD: TEST_USERS.app.password, PGCONNECT_TIMEOUT: '5' },
    { timeoutMs: seconds * 1000 + 40_000, cwd: dir },
  );
  const aborted = r.stderr.split('\n').filter((l) => /client \d+ .*aborted/.test(l));
  return {
    processed: Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? 0),
    timedOut: r.timedOut,
    abortedClients: aborted.length,
    commitUnknown: aborted.filter((l) => COMMIT_UNKNOWN.test(l)).length,
    replayMismatch: aborted.filter((l) => REPLAY_MISMATCH.test(l)).length,
    otherErrors: aborted
      .filter((l) => !COMMIT_UNKNOWN.test(l) && !REPLAY_MISMATCH.test(l))
      .slice(0, 5)
      .map((l) => l.slice(0, 240)),
    maxLatencyMs: maxLoggedLatencyMs(dir, prefix),
  };
}

/** Both loads through Meridian on `port` for `seconds`; resolves when both have ended (each bounded). */
export async function runMatrixLoad(port: number, seconds: number): Promise<MatrixLoad> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-failover-load-'));
  try {
    const [tpcb, reads] = await Promise.all([pgbench(port, seconds, dir, 'tpcb-like', TPCB_CLIENTS), pgbench(port, seconds, dir, 'select-only', READ_CLIENTS)]);
    return { tpcb, reads };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** meridian_transaction_replays_total by result, of an in-process Meridian. */
export async function replayCounts(mer: RunningMeridian): Promise<Record<string, number>> {
  const metric = await mer.m.metrics.registry.getSingleMetric('meridian_transaction_replays_total')?.get();
  const out: Record<string, number> = {};
  for (const v of metric?.values ?? []) out[String(v.labels.result)] = v.value;
  return out;
}

/** One line of figures for a load, for the test output. */
export function describeLoad(l: MatrixLoad): string {
  const one = (b: BenchOutcome) =>
    `${b.processed} tx, ${b.abortedClients} aborted (${b.commitUnknown} COMMIT unknown, ${b.replayMismatch} replay mismatch, ${b.abortedClients - b.commitUnknown - b.replayMismatch} other), longest ${b.maxLatencyMs ?? '–'} ms`;
  return `tpcb-like ×${TPCB_CLIENTS}: ${one(l.tpcb)}; select-only ×${READ_CLIENTS}: ${one(l.reads)}`;
}

/** What a fresh client writing again and again since the fault saw. */
export interface SideWrites {
  /** From the fault to the first write that ran (null: none within the window). */
  firstWriteMs: number | null;
  /** The longest any one attempt (connect, login, write) took, answered or not. */
  longestMs: number;
  attempts: number;
  /** Attempts answered with an error (an autocommit write in flight when its node failed may get 08006). */
  errors: number;
  /** Attempts that got no answer within their bound. */
  hangs: number;
}

/**
 * A fresh client's write (connect, log in, UPDATE the probe row, disconnect) every 100 ms from
 * `sinceMs` for `windowMs`, each attempt bounded by `attemptTimeoutMs`.
 */
export async function sideWrites(port: number, sinceMs: number, windowMs: number, attemptTimeoutMs: number): Promise<SideWrites> {
  const out: SideWrites = { firstWriteMs: null, longestMs: 0, attempts: 0, errors: 0, hangs: 0 };
  while (Date.now() < sinceMs + windowMs) {
    const p = await probeOnce(port, WRITE_PROBE, attemptTimeoutMs);
    out.attempts++;
    out.longestMs = Math.max(out.longestMs, p.ms);
    if (p.kind === 'ok' && out.firstWriteMs === null) out.firstWriteMs = Date.now() - sinceMs;
    if (p.kind === 'error') out.errors++;
    if (p.kind === 'hang') out.hangs++;
    await new Promise((r) => setTimeout(r, 100));
  }
  return out;
}
