// Failover matrix, row 2 (issue 18): pglogical, 3 masters, the nearest master hung — SIGSTOP of
// its postmaster and every backend for 10 s, then SIGCONT — under load (pgbench tpcb-like, 8
// clients, and select-only, 4 clients, through Meridian). A hung node closes nothing: Meridian
// notices only when its probes time out, evicts it within fall × interval + timeout, and then
// discards its backends; a transaction waiting on one is replayed (routing.transaction_replay) or
// fails (08006), a COMMIT in flight gets 08007, an autocommit read is sent again elsewhere. Allowed:
// as for the stopped master, and no transaction waits longer than
// fall × interval + timeout + write_wait (from pgbench's per-transaction log), with a margin for
// the statements the transaction ran before the hang on a loaded host. A COMMIT Meridian reported as
// unknown may still commit when the node resumes: pgbench_history counts it then. A cluster of its own.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startActiveActive, type PglogicalCluster, type PgNode } from '../support/cluster.js';
import { signalNode } from '../fault/helpers/node-signals.js';
import { initPglogicalBenchTables } from './helpers/bench-tables.js';
import { TPCB_CLIENTS } from './helpers/matrix-load.js';
import { runPglogicalRow, WAIT_BOUND_MS, type RowResult } from './helpers/pglogical-row.js';

const HANG_MS = 10_000;
/** A transaction's own statements before and after the wait, on a loaded 2-core host. */
const MARGIN_MS = 1500;

let cluster: PglogicalCluster;

beforeAll(async () => {
  cluster = await startActiveActive();
  await initPglogicalBenchTables(cluster);
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
});

async function hang(victim: PgNode): Promise<void> {
  const pids = signalNode(victim, 'SIGSTOP');
  try {
    await sleep(HANG_MS);
  } finally {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* gone */
      }
    }
  }
}

function hangRow(replay: boolean): Promise<RowResult> {
  return runPglogicalRow(cluster, { replay, fault: hang }, `nearest master hung (SIGSTOP ${HANG_MS / 1000} s)`);
}

function expectCommon(r: RowResult): void {
  expect(r.busyAtFault, 'the load ran on the node at the fault').toBeGreaterThan(0);
  expect(r.load.tpcb.timedOut || r.load.reads.timedOut, 'pgbench ended by itself').toBe(false);
  expect(r.load.tpcb.processed).toBeGreaterThan(0);
  expect(r.load.reads.abortedClients, r.load.reads.otherErrors.join('\n')).toBe(0);
  expect(r.firstWriteMs, 'a fresh client writes again during the hang').not.toBeNull();
  expect(r.firstWriteMs!).toBeLessThan(HANG_MS);
  // No transaction waited for the hung node past the bound (it would wait the whole 10 s otherwise).
  expect(r.load.tpcb.maxLatencyMs!).toBeLessThanOrEqual(WAIT_BOUND_MS + MARGIN_MS);
  expect(r.load.reads.maxLatencyMs!).toBeLessThanOrEqual(WAIT_BOUND_MS + MARGIN_MS);
  // Nor a fresh client's write (connect, login, write): regression, one that needed a new backend
  // waited for the connect to the hung node to time out (pool.connect_timeout), past the bound.
  expect(r.side.hangs).toBe(0);
  expect(r.side.longestMs).toBeLessThanOrEqual(WAIT_BOUND_MS + MARGIN_MS);
  expect(r.historyAdded).toBeGreaterThanOrEqual(r.load.tpcb.processed);
  expect(r.historyAdded - r.load.tpcb.processed).toBeLessThanOrEqual(r.load.tpcb.commitUnknown);
}

describe('failover matrix: pglogical nearest master hung (SIGSTOP 10 s) under pgbench', () => {
  it('replay on: transactions waiting on the hung node are replayed once it is evicted; only unknown COMMITs abort a client; no wait past the bound', async () => {
    const r = await hangRow(true);
    expectCommon(r);
    expect(r.load.tpcb.otherErrors).toEqual([]);
    expect(r.load.tpcb.replayMismatch).toBe(0);
    expect(r.load.tpcb.abortedClients).toBe(r.load.tpcb.commitUnknown);
    expect(r.replays.started ?? 0).toBeGreaterThan(0);
    expect(r.replays.succeeded ?? 0).toBeGreaterThan(0);
  }, 60_000);

  it('replay off: at most the transactions in flight fail, reads none; no wait past the bound', async () => {
    const r = await hangRow(false);
    expectCommon(r);
    expect(r.load.tpcb.abortedClients).toBeGreaterThan(0);
    expect(r.load.tpcb.abortedClients).toBeLessThanOrEqual(TPCB_CLIENTS);
    expect(r.replays.started ?? 0).toBe(0);
  }, 60_000);
});
