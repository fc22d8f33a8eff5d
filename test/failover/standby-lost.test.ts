// Failover matrix, row 6 (issue 18): a hot standby lost (kill -9 of its postmaster) in a physical
// cluster (primary + 2 standbys of its own; the one serving the reads) under load through Meridian: pgbench select-only, 4
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
    try {
      await waitFor(() => mer.m.snapshot().nodes.every((n) => n.isUp && n.lagMs !== null), { timeoutMs: 30_000, what: 'every node up with a known lag' });
      const before = await settledHistory(cluster);
      const loading = runMatrixLoad(mer.port, LOAD_S);
      // The standby serving the reads now: the most routed to it in the last second (with lags
      // apart by more than routing.lag_tolerance, a loaded host may send them all to one).
      const standbyReads = async () =>
        new Map((await adminRows(mer.port, 'SHOW NODES')).filter((r) => r.name !== cluster.primary.name).map((r) => [String(r.name), Number(r.routed_reads)]));
      await sleep(2000);
      const earlier = await standbyReads();
      await sleep(1000);
      const now = await standbyReads();
      const [victimName, readsOnVictim] = [...now].map(([n, v]) => [n, v - (earlier.get(n) ?? 0)] as const).sort((a, b) => b[1] - a[1])[0]!;
      const victim = cluster.node(victimName);
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
        `[failover] a standby lost (kill -9): ${describeLoad(load)}; ${readsOnVictim} reads routed to ${victim.name} in the second before the fault; ` +
          `a fresh client's writes: ${sw.attempts}, ${sw.errors} errors, longest ${sw.longestMs} ms; history +${after - before}`,
      );
      expect(readsOnVictim, 'the standby served reads when it was lost').toBeGreaterThan(0);
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
