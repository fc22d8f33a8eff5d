// Bench support: a 3-node active-active pglogical cluster over copies of the loaded pgbench database
// (the same recipe as test/support/cluster-pglogical.ts). The copies start identical, so every subscription is created
// without synchronising structure or data; forward_origins '{}' stops changes from looping, and
// last_update_wins keeps the nodes convergent when two of them update the same row.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DB, pgTool, type PgNode } from './postgres.js';
import { run, sleep } from './proc.js';

export const PGLOGICAL_CONF = [
  'wal_level = logical',
  'max_worker_processes = 16',
  'max_replication_slots = 10',
  'max_wal_senders = 10',
  'track_commit_timestamp = on',
  "shared_preload_libraries = 'pglogical'",
  "pglogical.conflict_resolution = 'last_update_wins'",
  // Recent minor releases (15.20 here) refuse an output plugin not listed here, and pglogical's is not by default.
  ...(serverHasSetting('output_plugin_libraries') ? ["output_plugin_libraries = 'pgoutput, test_decoding, pglogical_output'"] : []),
];

/** This PostgreSQL knows the configuration parameter (`postgres --describe-config`). */
function serverHasSetting(name: string): boolean {
  try {
    return execFileSync(pgTool('postgres'), ['--describe-config'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
      .split('\n')
      .some((l) => l.split('\t')[0] === name);
  } catch {
    return false;
  }
}

/** Null when pglogical is installed for this PostgreSQL, else why not. */
export async function pglogicalMissing(): Promise<string | null> {
  const r = await run(pgTool('pg_config'), ['--sharedir', '--pkglibdir'], { timeoutMs: 10_000 });
  const [share, lib] = r.stdout.trim().split('\n');
  if (r.code !== 0 || !share || !lib) return 'pg_config failed';
  if (!existsSync(join(share, 'extension', 'pglogical.control')) || !existsSync(join(lib, 'pglogical.so'))) {
    return 'the pglogical extension is not installed (apt-get install postgresql-15-pglogical)';
  }
  return null;
}

const dsn = (n: PgNode) => `host=127.0.0.1 port=${n.port} dbname=${BENCH_DB} user=postgres`;

/** Makes every node a pglogical node replicating the pgbench tables to and from every other node. */
export async function setupPglogicalMesh(nodes: readonly PgNode[], extraTables: readonly string[] = []): Promise<void> {
  await Promise.all(
    nodes.map(async (n) => {
      await n.sql('CREATE EXTENSION IF NOT EXISTS pglogical', BENCH_DB);
      await n.sql(`SELECT pglogical.create_node(node_name := '${n.name}', dsn := '${dsn(n)}')`, BENCH_DB);
      for (const t of ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', ...extraTables]) {
        await n.sql(`SELECT pglogical.replication_set_add_table('default', '${t}', synchronize_data := false)`, BENCH_DB);
      }
      // pgbench_history has no primary key: pglogical replicates it insert-only.
      await n.sql(`SELECT pglogical.replication_set_add_table('default_insert_only', 'pgbench_history', synchronize_data := false)`, BENCH_DB);
    }),
  );
  await Promise.all(
    nodes.map(async (n) => {
      const subs = nodes
        .filter((p) => p !== n)
        .map(
          (p) =>
            `SELECT pglogical.create_subscription(subscription_name := '${n.name}_from_${p.name}', provider_dsn := '${dsn(p)}', ` +
            `replication_sets := ARRAY['default','default_insert_only'], synchronize_structure := false, synchronize_data := false, forward_origins := '{}');`,
        );
      await n.sql(`BEGIN; ${subs.join(' ')} COMMIT;`, BENCH_DB);
    }),
  );
  const want = nodes.length - 1;
  const deadline = Date.now() + 120_000;
  for (const n of nodes) {
    for (;;) {
      const ok = Number(await n.sql("SELECT count(*) FROM pglogical.show_subscription_status() WHERE status = 'replicating'", BENCH_DB));
      if (ok >= want) break;
      if (Date.now() > deadline) throw new Error(`pglogical subscriptions on ${n.name} not replicating after 120 s`);
      await sleep(250);
    }
  }
}
