// Failover matrix, row 5 (issue 18): a rolling upgrade of the nearest master of a 3-node pglogical
// cluster under load (pgbench tpcb-like, 8 clients, and select-only, 4 clients, through Meridian):
// DRAIN it on the admin console, stop it (fast shutdown), start it again, UNDRAIN it, and wait
// until it is readmitted. Transaction replay off (the default): a planned operation needs none.
// Allowed: 0 failures, and pgbench_history gains exactly the transactions pgbench counts. While
// drained the node takes no new work (test/integration/drain-pgbench.test.ts checks that in
// detail). A cluster of its own.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startActiveActive, waitFor, type PglogicalCluster, type PgNode } from '../support/cluster.js';
import { adminRows, type RunningMeridian } from '../helpers/meridian.js';
import { initPglogicalBenchTables } from './helpers/bench-tables.js';
import { runPglogicalRow } from './helpers/pglogical-row.js';

let cluster: PglogicalCluster;
const steps: string[] = [];

beforeAll(async () => {
  cluster = await startActiveActive();
  await initPglogicalBenchTables(cluster);
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
});

async function rollingUpgrade(victim: PgNode, mer: RunningMeridian): Promise<void> {
  const t0 = Date.now();
  const [drained] = await adminRows(mer.port, `DRAIN ${victim.name}`);
  expect(drained).toMatchObject({ node: victim.name, state: 'drained', outcome: 'drained' });
  steps.push(`drained in ${Date.now() - t0} ms`);
  await victim.stop('fast');
  await victim.start();
  steps.push(`restarted at ${Date.now() - t0} ms`);
  await waitFor(() => mer.m.snapshot().byName.get(victim.name)?.isUp === true, { timeoutMs: 20_000, what: `${victim.name} seen up again` });
  await adminRows(mer.port, `UNDRAIN ${victim.name}`);
  await waitFor(() => mer.m.snapshot().byName.get(victim.name)?.state === 'active', { timeoutMs: 20_000, what: `${victim.name} readmitted` });
  steps.push(`readmitted at ${Date.now() - t0} ms`);
}

describe('failover matrix: rolling upgrade (DRAIN, stop, start, UNDRAIN) of the nearest master under pgbench', () => {
  it('0 failures; every transaction pgbench counts is in pgbench_history once', async () => {
    const r = await runPglogicalRow(cluster, { replay: false, fault: rollingUpgrade }, 'rolling upgrade of the nearest master');
    console.log(`[failover]   ${steps.join(', ')}`);
    expect(r.busyAtFault, 'the load ran on the node at the fault').toBeGreaterThan(0);
    expect(r.load.tpcb.timedOut || r.load.reads.timedOut, 'pgbench ended by itself').toBe(false);
    expect(r.load.tpcb.processed).toBeGreaterThan(0);
    expect(r.load.tpcb.abortedClients, r.load.tpcb.otherErrors.join('\n')).toBe(0);
    expect(r.load.reads.abortedClients, r.load.reads.otherErrors.join('\n')).toBe(0);
    expect(r.side.errors + r.side.hangs, 'a fresh client writing meanwhile saw no error').toBe(0);
    expect(r.historyAdded).toBe(r.load.tpcb.processed);
  }, 60_000);
});
