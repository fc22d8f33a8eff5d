// Admin commands across the workers of a multi-process instance: how long a fanned-out command
// may take, and how the workers' answers make one reply. A state change (DRAIN, UNDRAIN, RELOAD)
// succeeds only when every worker applied it; a worker that failed or did not answer makes the
// command fail (55000) naming it. SHOW POOLS / SHOW SESSIONS / SHOW ROUTES gain a `worker` column.

import type { MeridianConfig } from '../config/types.js';
import { Errors } from '../errors.js';
import type { PeerAnswer, WireTable } from '../fleet/link.js';
import { parseDrainArgs } from './drain-command.js';
import { int, type AdminTable, type Cell } from './table.js';

/** Rows matched by their first column across workers: `sum` columns added, `mean` columns weighted by their count column. */
export interface SumSpec {
  readonly sum: readonly string[];
  /** Mean column → the count column that weighs it. */
  readonly mean?: Readonly<Record<string, string>>;
  /** A peer row whose key this worker does not have: added as it is (true), or left out (absent). */
  readonly addMissing?: boolean;
}

/** concat: every worker's rows; all: every worker applies it, this worker's reply; drain: counts summed; SumSpec: per-row sums. */
export type FanoutKind = 'concat' | 'all' | 'drain' | SumSpec;

/** SHOW NODES: backends and routed requests are each worker's; the rest is the shared topology. */
export const NODES_SUM: SumSpec = { sum: ['active_backends', 'idle_backends', 'routed_reads', 'routed_writes'] };
/** SHOW STATS: every counter over every worker (and the primary's probe counters); means weighted by their counts. */
export const STATS_SUM: SumSpec = {
  sum: [
    'routed_reads',
    'routed_writes',
    'probe_failures',
    'evictions',
    'requests',
    'errors',
    'pool_waits',
    'residency_refusals',
    'failovers',
    'reloads_ok',
    'reloads_failed',
  ],
  mean: { avg_request_ms: 'requests', avg_pool_wait_ms: 'pool_waits' },
};

/** SHOW RESIDENCY: sessions and refusals are each worker's; a rule combination only some workers' sessions match still shows. */
export const RESIDENCY_SUM: SumSpec = { sum: ['sessions', 'refusals'], addMissing: true };

/** Beyond the drain's own timeout: the cancel grace and the IPC round trip. */
const DRAIN_MARGIN_MS = 15_000;
const COMMAND_TIMEOUT_MS = 30_000;

export function fanoutTimeoutMs(kind: FanoutKind, args: string, cfg: MeridianConfig): number {
  if (kind !== 'drain') return COMMAND_TIMEOUT_MS;
  const a = parseDrainArgs(args);
  return a.noWait ? COMMAND_TIMEOUT_MS : (a.timeoutMs ?? cfg.drain.timeoutMs) + DRAIN_MARGIN_MS;
}

/** The peers' tables, or the first failure as a 55000 naming the worker. */
export function peerTables(answers: readonly PeerAnswer[]): { worker: number; table: WireTable }[] {
  const out: { worker: number; table: WireTable }[] = [];
  for (const a of answers) {
    if (!a.ok) throw Errors.adminFailed(`worker ${a.worker}: ${a.message}`);
    out.push({ worker: a.worker, table: a.table });
  }
  return out;
}

const num = (c: Cell | undefined): number => (typeof c === 'number' ? c : 0);

/** DRAIN's one row (node, state, outcome, waited_ms, cancelled, closed, left_running, message), over every worker. */
function combineDrain(local: AdminTable, peers: readonly WireTable[]): AdminTable {
  const row = local.rows[0];
  if (row === undefined) return local;
  const out: Cell[] = [...row];
  for (const t of peers) {
    const r = t.rows[0];
    if (r === undefined) continue;
    if (r[2] === 'undrained') out[2] = 'undrained';
    out[3] = Math.max(num(out[3]), num(r[3]));
    for (const i of [4, 5, 6]) out[i] = num(out[i]) + num(r[i]);
  }
  return { ...local, rows: [out] };
}

/** Rows keyed by their first column; a peer row whose key this worker does not have is left out, or added after this worker's rows (addMissing). */
function combineSum(spec: SumSpec, local: AdminTable, peers: readonly WireTable[]): AdminTable {
  const col = (name: string) => local.columns.findIndex((c) => c.name === name);
  const sums = spec.sum.map(col).filter((i) => i >= 0);
  const means = Object.entries(spec.mean ?? {})
    .map(([m, w]) => [col(m), col(w)] as const)
    .filter(([m, w]) => m >= 0 && w >= 0);
  const rows = local.rows.map((r) => [...r]);
  const byKey = new Map(rows.map((r) => [String(r[0]), r]));
  // Weighted sums of the means, per row: mean × count, over every table.
  const weightOf = (row: readonly Cell[], m: number, w: number): number => (typeof row[m] === 'number' ? (row[m] as number) * num(row[w]) : 0);
  const weighted = new Map(rows.map((r) => [r, means.map(([m, w]) => weightOf(r, m, w))]));
  for (const t of peers) {
    for (const pr of t.rows) {
      const r = byKey.get(String(pr[0]));
      if (r === undefined) {
        if (spec.addMissing !== true) continue;
        // Only some workers have it (a residency rule combination their sessions match): its own sums.
        const added = [...pr] as Cell[];
        rows.push(added);
        byKey.set(String(pr[0]), added);
        weighted.set(
          added,
          means.map(([m, w]) => weightOf(pr, m, w)),
        );
        continue;
      }
      const acc = weighted.get(r)!;
      means.forEach(([m, w], k) => (acc[k] = acc[k]! + weightOf(pr, m, w)));
      for (const i of sums) if (typeof r[i] === 'number' || typeof pr[i] === 'number') r[i] = num(r[i]) + num(pr[i]);
    }
  }
  for (const r of rows) {
    const acc = weighted.get(r)!;
    means.forEach(([m, w], k) => {
      if (r[m] === null && acc[k] === 0) return;
      const n = num(r[w]);
      r[m] = n === 0 ? null : Math.round((acc[k]! / n) * 1e3) / 1e3;
    });
  }
  return { ...local, rows };
}

export function combineAnswers(kind: FanoutKind, self: number, local: AdminTable, answers: readonly PeerAnswer[]): AdminTable {
  const peers = peerTables(answers);
  if (typeof kind === 'object')
    return combineSum(
      kind,
      local,
      peers.map((p) => p.table),
    );
  if (kind === 'all') return local;
  if (kind === 'drain')
    return combineDrain(
      local,
      peers.map((p) => p.table),
    );
  const all = [{ worker: self, table: local as WireTable }, ...peers].sort((a, b) => a.worker - b.worker);
  return {
    columns: [...local.columns, int('worker')],
    rows: all.flatMap((p) => p.table.rows.map((r) => [...r, p.worker])),
    ...(local.tag === undefined ? {} : { tag: local.tag }),
  };
}
