// Failover matrix support: pgbench's tables on a cluster of the test's own, and the count that
// proves nothing was lost or applied twice (pgbench_history: one row per committed tpcb-like
// transaction). On pglogical the tables are made on every node (pglogical does not replicate DDL),
// filled identically, and put in the replication set; pgbench_history gets a uuid primary key
// (pglogical replicates only tables with one, and a sequence would collide across masters).
// Starts and owns nothing.
import { waitFor, type Cluster, type PglogicalCluster } from '../../support/cluster.js';
import { initLoadTables } from '../../fault/helpers/fault-load.js';

const PGBENCH_TABLES = ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history', 'fault_probe'];

/** pgbench tables (scale 1) on every node of an active-active cluster, replicated. */
export async function initPglogicalBenchTables(cluster: PglogicalCluster): Promise<void> {
  for (const n of cluster.nodes) {
    await initLoadTables(n);
    await n.query('ALTER TABLE pgbench_history ADD COLUMN id uuid PRIMARY KEY DEFAULT gen_random_uuid()');
  }
  for (const t of PGBENCH_TABLES) await cluster.addToReplicationSet(t);
}

/** pgbench_history rows on one node. */
async function historyOn(node: Cluster['nodes'][number]): Promise<number> {
  const [r] = await node.query<{ n: number }>('SELECT count(*)::int AS n FROM pgbench_history');
  return r?.n ?? -1;
}

/**
 * pgbench_history rows once every running node has the same count (what a stopped node committed
 * before the fault replicates when it is back), the same over two reads 500 ms apart. Bounded.
 */
export async function settledHistory(cluster: Cluster, timeoutMs = 60_000): Promise<number> {
  let last = '';
  let previous: number | null = null;
  return waitFor(
    async () => {
      const counts = await Promise.all(cluster.nodes.filter((n) => n.isRunning()).map(historyOn));
      last = counts.join(' / ');
      const same = counts.every((c) => c === counts[0]) ? (counts[0] ?? null) : null;
      const settled = same !== null && same === previous ? same : null;
      previous = same;
      return settled;
    },
    { timeoutMs, intervalMs: 500, what: () => `pgbench_history the same on every node (${last})` },
  );
}
