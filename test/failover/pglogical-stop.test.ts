// Failover matrix, row 1 (issue 18): pglogical, 3 masters, the nearest master (the one taking the
// writes) stopped with an immediate shutdown (pg_ctl stop -m immediate's SIGQUIT) under load —
// pgbench tpcb-like, 8 clients, and select-only, 4 clients, through Meridian. An immediate shutdown
// ends backends without a FATAL, so a transaction in flight there is lost before its COMMIT (with
// routing.transaction_replay: replayed on the next master) or after it (08007: outcome unknown,
// never replayed). Allowed: with replay on, clients aborted only by 08007; autocommit reads 0;
// with replay off, at most the transactions in flight. Either way pgbench_history gains exactly
// the transactions pgbench counts as done, plus at most the unknown COMMITs. A cluster of its own.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startActiveActive, type PglogicalCluster } from '../support/cluster.js';
import { initPglogicalBenchTables } from './helpers/bench-tables.js';
import { TPCB_CLIENTS } from './helpers/matrix-load.js';
import { runPglogicalRow, type RowResult } from './helpers/pglogical-row.js';

let cluster: PglogicalCluster;

beforeAll(async () => {
  cluster = await startActiveActive();
  await initPglogicalBenchTables(cluster);
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
});

function stopImmediate(replay: boolean): Promise<RowResult> {
  return runPglogicalRow(cluster, { replay, fault: (victim) => victim.stop('immediate') }, 'nearest master stopped (immediate)');
}

/** What holds with replay on or off: reads never fail, nothing lost or applied twice. */
function expectCommon(r: RowResult): void {
  expect(r.busyAtFault, 'the load ran on the node at the fault').toBeGreaterThan(0);
  expect(r.load.tpcb.timedOut || r.load.reads.timedOut, 'pgbench ended by itself').toBe(false);
  expect(r.load.tpcb.processed).toBeGreaterThan(0);
  expect(r.load.reads.abortedClients, r.load.reads.otherErrors.join('\n')).toBe(0);
  expect(r.firstWriteMs, 'a fresh client writes again after the fault').not.toBeNull();
  expect(r.historyAdded).toBeGreaterThanOrEqual(r.load.tpcb.processed);
  expect(r.historyAdded - r.load.tpcb.processed).toBeLessThanOrEqual(r.load.tpcb.commitUnknown);
}

describe('failover matrix: pglogical nearest master stopped (immediate shutdown) under pgbench', () => {
  it('replay on: transactions in flight are replayed on the next master; only unknown COMMITs (08007) abort a client', async () => {
    const r = await stopImmediate(true);
    expectCommon(r);
    expect(r.load.tpcb.otherErrors).toEqual([]);
    expect(r.load.tpcb.replayMismatch).toBe(0);
    expect(r.load.tpcb.abortedClients).toBe(r.load.tpcb.commitUnknown);
    // The fault hit transactions in flight, and they were replayed.
    expect(r.replays.started ?? 0).toBeGreaterThan(0);
    expect(r.replays.succeeded ?? 0).toBeGreaterThan(0);
  }, 60_000);

  it('replay off: at most the transactions in flight fail, reads none', async () => {
    const r = await stopImmediate(false);
    expectCommon(r);
    // A positive control: the fault did hit transactions in flight.
    expect(r.load.tpcb.abortedClients).toBeGreaterThan(0);
    expect(r.load.tpcb.abortedClients).toBeLessThanOrEqual(TPCB_CLIENTS);
    expect(r.replays.started ?? 0).toBe(0);
  }, 60_000);
});
