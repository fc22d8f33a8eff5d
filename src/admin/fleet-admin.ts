// Admin commands across the workers of a multi-process instance: how long a fanned-out command
// may take, and how the workers' answers make one reply. A state change (DRAIN, UNDRAIN, RELOAD)
// succeeds only when every worker applied it; a worker that failed or did not answer makes the
// command fail (55000) naming it. SHOW POOLS / SHOW SESSIONS gain a `worker` column.

import type { MeridianConfig } from '../config/types.js';
import { Errors } from '../errors.js';
import type { PeerAnswer, WireTable } from '../fleet/link.js';
import { parseDrainArgs } from './drain-command.js';
import { int, type AdminTable, type Cell } from './table.js';

/** concat: every worker's rows; all: every worker applies it, this worker's reply; drain: counts summed. */
export type FanoutKind = 'concat' | 'all' | 'drain';

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

export function combineAnswers(kind: FanoutKind, self: number, local: AdminTable, answers: readonly PeerAnswer[]): AdminTable {
  const peers = peerTables(answers);
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
