// Issue 6 acceptance: a rolling upgrade under load with zero failed transactions. pgbench
// tpcb-like (16 clients, transaction pooling) runs through Meridian against a 3-node pglogical
// cluster of this file's own; meanwhile the node taking the writes is drained (DRAIN on the
// admin console), stopped (fast shutdown: pg_ctl stop -m fast's signal), started again and
// undrained. pgbench must report 0 failed transactions and exit 0, and the drained node must
// get no new work from the moment DRAIN returns until UNDRAIN: no Meridian backend on it in
// pg_stat_activity, no request routed there, no pgbench transaction committed there.
//
// The pgbench tables exist on every node (pglogical does not replicate DDL), are filled
// identically there and are in the replication set, so every node sees every transaction.
// pgbench_history gets a uuid primary key (pglogical replicates UPDATE/DELETE only with one, and
// a sequence would collide across nodes). TPC-B's updates to the same branch row on two nodes
// at the moment writes move are resolved by pglogical's last_update_wins: no client sees an
// error; balances may lose a concurrent update (that is active-active, not Meridian).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startActiveActive, TEST_USERS, waitFor, type PglogicalCluster } from '../support/cluster.js';
import { runPgbench } from '../support/proc.js';
import { adminRows, startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { ensurePglogicalHeartbeat, initPgbench } from '../helpers/pgbench-tables.js';

const PGBENCH_SECONDS = Number(process.env.MERIDIAN_DRAIN_BENCH_S ?? 45);
let cluster: PglogicalCluster;
let mer: RunningMeridian;

const admin = (sql: string) => adminRows(mer.port, sql);

async function routedTo(node: string): Promise<number> {
  const v = await mer.m.metrics.routedTotal.get();
  return v.values.filter((x) => x.labels.node === node).reduce((a, x) => a + x.value, 0);
}

beforeAll(async () => {
  cluster = await startActiveActive();
  await ensurePglogicalHeartbeat(cluster);
  await Promise.all(cluster.nodes.map(initPgbench));
  for (const t of ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history']) await cluster.addToReplicationSet(t);
  mer = await startMeridian(cluster, {
    pool: 'mode: transaction, size: 20, queue_timeout: 10s',
    extraYaml: `drain: { timeout: 20s, on_timeout: cancel }
routing: { readmit_max_lag: 2s, write_wait: 5s }`,
  });
  await waitFor(() => mer.m.snapshot().nodes.every((n) => n.isUp && n.lagMs !== null), { timeoutMs: 30_000, what: 'every node up with a known lag' });
}, 300_000);

afterAll(async () => {
  await mer?.stop();
  await cluster?.stop();
});

describe('drain under pgbench load', () => {
  it(
    'drain, stop, start, undrain the write node: 0 failed transactions, no new work on it while drained',
    async () => {
      const bench = runPgbench(
        ['-h', '127.0.0.1', '-p', String(mer.port), '-U', 'app', '-n', '-c', '16', '-j', '2', '-T', String(PGBENCH_SECONDS), '-P', '5', 'app'],
        { PGPASSWORD: TEST_USERS.app.password },
        { timeoutMs: (PGBENCH_SECONDS + 120) * 1000 },
      );
      // Let the load start (connecting 16 clients takes seconds on a loaded host) and settle, then
      // pick the node taking the writes (the nearest master).
      const routedWrites = async () =>
        (await mer.m.metrics.routedTotal.get()).values.filter((v) => v.labels.class === 'write').reduce((a, v) => a + v.value, 0);
      await waitFor(async () => (await routedWrites()) > 200, { timeoutMs: 60_000, what: 'pgbench load running' });
      await new Promise((r) => setTimeout(r, 2000));
      const before = await admin('SHOW NODES');
      const victim = String(
        [...before].sort((a, b) => Number(b.active_backends) - Number(a.active_backends) || Number(b.routed_writes) - Number(a.routed_writes))[0]!.name,
      );
      const node = cluster.node(victim);
      expect(Number(before.find((n) => n.name === victim)!.routed_writes)).toBeGreaterThan(0);

      // Positive control for the pg_stat_activity watch below: Meridian's backends are visible there now.
      const [busyBefore] = await node.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'app'");
      expect(busyBefore?.n).toBeGreaterThan(0);

      const drainStartMs = Date.now();
      const [drained] = await admin(`DRAIN ${victim}`);
      const drainReturnedAt = new Date();
      expect(drained).toMatchObject({ node: victim, state: 'drained', outcome: 'drained', cancelled: '0', closed: '0' });
      const drainMs = Date.now() - drainStartMs;

      // From here until UNDRAIN: nothing of Meridian's on the node, nothing routed there.
      const routedAtDrain = await routedTo(victim);
      const sightings: string[] = [];
      let watching = true;
      const watch = (async () => {
        while (watching) {
          if (node.isRunning()) {
            const rows = await node.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'app'").catch(() => []);
            if ((rows[0]?.n ?? 0) > 0) sightings.push(`${new Date().toISOString()}: ${rows[0]?.n} app backends`);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();

      await new Promise((r) => setTimeout(r, 2000));
      await node.stop('fast');
      await waitFor(() => mer.m.snapshot().byName.get(victim)?.isUp === false, { timeoutMs: 15_000, what: `${victim} seen down` });
      await new Promise((r) => setTimeout(r, 3000));
      await node.start();
      await waitFor(() => mer.m.snapshot().byName.get(victim)?.isUp === true, { timeoutMs: 30_000, what: `${victim} seen up again` });
      expect(mer.m.snapshot().byName.get(victim)?.state).toBe('drained');
      await new Promise((r) => setTimeout(r, 1000));

      watching = false;
      await watch;
      const undrainAt = new Date();
      const routedAtUndrain = await routedTo(victim);
      const [und] = await admin(`UNDRAIN ${victim}`);
      expect(['active', 'catching-up']).toContain(und?.state);
      await waitFor(() => mer.m.snapshot().byName.get(victim)?.state === 'active', { timeoutMs: 30_000, what: `${victim} readmitted` });

      const r = await bench;
      const out = `${r.stdout}\n${r.stderr}`;
      expect(r.code, out).toBe(0);
      expect(out).not.toMatch(/aborted|error/i);
      const processed = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? 0);
      const failed = Number(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1] ?? 0);
      expect(processed).toBeGreaterThan(100);
      expect(failed).toBe(0);

      expect(sightings).toEqual([]);
      expect(routedAtUndrain).toBe(routedAtDrain);
      // No pgbench transaction started on the node between DRAIN returning and UNDRAIN: history
      // rows committed locally there (replication origin 0) with mtime (transaction start) inside.
      const [local] = await node.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pgbench_history h
        WHERE (pg_xact_commit_timestamp_origin(h.xmin)).roident = 0 AND h.mtime >= $1 AND h.mtime < $2`,
        [drainReturnedAt, undrainAt],
      );
      expect(local?.n).toBe(0);
      // ...while it did take work before the drain and other nodes took the load meanwhile.
      const [earlier] = await node.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pgbench_history h WHERE (pg_xact_commit_timestamp_origin(h.xmin)).roident = 0 AND h.mtime < $1',
        [drainReturnedAt],
      );
      expect(earlier?.n).toBeGreaterThan(0);
      console.log(
        `drain of ${victim} took ${drainMs} ms under load; pgbench: ${processed} transactions, ${failed} failed; ${/tps = [\d.]+/.exec(r.stdout)?.[0] ?? ''}`,
      );
    },
    (PGBENCH_SECONDS + 200) * 1000,
  );
});
