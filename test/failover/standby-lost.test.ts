// Failover matrix, row 6 (issue 18): a hot standby lost (kill -9 of its postmaster) in a physical
// cluster (primary + 2 standbys of its own) under load through Meridian: pgbench select-only, 4
// clients, whose autocommit reads go to the standbys, beside tpcb-like, 8 clients, on the primary.
// A read in flight on the lost standby got nothing yet: it is sent again to another node
// (routing.retry_reads); new reads go to the other standby. Allowed: reads 0 failures (and the
// writes, which never touched the standby, 0 too); pgbench_history gains exactly the transactions
// pgbench counts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startPrimaryStandby, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { adminRows, startMeridian } from '../helpers/meridian.js';
import { childrenOf, isProcessAlive, postmasterPid } from '../fault/helpers/node-signals.js';
import { initLoadTables } from '../fault/helpers/fault-load.js';
import { settledHistory } from './helpers/bench-tables.js';
import { describeLoad, runMatrixLoad, sideWrites } from './helpers/matrix-load.js';
import { HEALTH, LOAD_S, WRITE_WAIT_MS } from './helpers/pglogical-row.js';

let cluster: PhysicalCluster;

beforeAll(async () => {
  cluster = await startPrimaryStandby({ standbys: 2 });
  await initLoadTables(cluster.primary);
  await cluster.waitReplayed();
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('failover matrix: a standby lost (kill -9) under read load', () => {
  it('reads: 0 failures (sent again to another node); writes on the primary untouched', async () => {
    const mer = await startMeridian(cluster, {
      kind: 'physical',
      pool: 'mode: transaction, size: 20, queue_timeout: 10s, connect_timeout: 10s',
      health: `interval: ${HEALTH.intervalMs}ms, timeout: ${HEALTH.timeoutMs}ms, rise: 2, fall: ${HEALTH.fall}`,
      extraYaml: `routing: { reads_on_masters: fallback, write_wait: ${WRITE_WAIT_MS}ms }`,
    });
    const victim = cluster.node('s1');
    try {
      await waitFor(() => mer.m.snapshot().nodes.every((n) => n.isUp && n.lagMs !== null), { timeoutMs: 30_000, what: 'every node up with a known lag' });
      const before = await settledHistory(cluster);
      const loading = runMatrixLoad(mer.port, LOAD_S);
      await sleep(3000);
      const rows = await adminRows(mer.port, 'SHOW NODES');
      const readsOnVictim = Number(rows.find((r) => r.name === victim.name)?.routed_reads ?? 0);
      const pm = postmasterPid(victim);
      const children = childrenOf(pm);
      const faultAt = Date.now();
      process.kill(pm, 'SIGKILL');
      const side = sideWrites(mer.port, faultAt, LOAD_S * 1000 - 3000, 10_000);
      const [load, sw] = await Promise.all([loading, side]);
      // Its backends notice the postmaster is gone and exit (bounded), before the cluster is stopped.
      await waitFor(() => ![pm, ...children].some(isProcessAlive), { timeoutMs: 20_000, what: "the killed standby's processes gone" });
      const after = await settledHistory({ ...cluster, nodes: [cluster.primary] });
      console.log(
        `[failover] a standby lost (kill -9): ${describeLoad(load)}; ${readsOnVictim} reads routed to ${victim.name} before the fault; ` +
          `a fresh client's writes: ${sw.attempts}, ${sw.errors} errors, longest ${sw.longestMs} ms; history +${after - before}`,
      );
      expect(readsOnVictim, 'the standby served reads before it was lost').toBeGreaterThan(0);
      expect(load.tpcb.timedOut || load.reads.timedOut, 'pgbench ended by itself').toBe(false);
      expect(load.reads.processed).toBeGreaterThan(0);
      expect(load.reads.abortedClients, load.reads.otherErrors.join('\n')).toBe(0);
      expect(load.tpcb.abortedClients, load.tpcb.otherErrors.join('\n')).toBe(0);
      expect(sw.errors + sw.hangs).toBe(0);
      expect(after - before).toBe(load.tpcb.processed);
      expect(mer.m.snapshot().byName.get(victim.name)?.isUp, 'the lost standby is out of routing').toBe(false);
    } finally {
      await mer.stop();
    }
  }, 60_000);
});
