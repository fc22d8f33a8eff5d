// Test helpers for pgbench through Meridian on multi-master clusters: pgbench's tables on a node
// in a form every replication system here can carry (pgbench_history gets a primary key), and
// the heartbeat table pglogical lag needs, added to the default replication set.

import { runPgbench } from '../support/proc.js';
import type { PglogicalCluster, PgNode } from '../support/types.js';

/** pgbench -i (scale 1) on `node`, pgbench_history with a primary key, everything granted to app. */
export async function initPgbench(node: PgNode): Promise<void> {
  const r = await runPgbench(
    ['-h', node.host, '-p', String(node.port), '-U', 'postgres', '-i', '-s', '1', '-I', 'dtgp', '-q', 'app'],
    {},
    { timeoutMs: 120_000 },
  );
  if (r.code !== 0) throw new Error(`pgbench -i on ${node.name}: ${r.stderr}`);
  await node.query('ALTER TABLE pgbench_history ADD COLUMN id uuid PRIMARY KEY DEFAULT gen_random_uuid()');
  await node.query('GRANT ALL ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history TO app');
}

/** The heartbeat table pglogical lag needs, in the default replication set (idempotent). */
export async function ensurePglogicalHeartbeat(c: PglogicalCluster): Promise<void> {
  for (const n of c.nodes) {
    await n.query('CREATE TABLE IF NOT EXISTS meridian_heartbeat(node text PRIMARY KEY, ts timestamptz NOT NULL)').catch(() => {});
    const [r] = await n.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pglogical.replication_set_table WHERE set_reloid = 'meridian_heartbeat'::regclass",
    );
    if (r?.n === 0) await n.query("SELECT pglogical.replication_set_add_table('default', 'meridian_heartbeat', synchronize_data := false)").catch(() => {});
  }
}
