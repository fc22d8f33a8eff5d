// Test support: active-active cluster, N nodes (default 3) with pglogical, full mesh. Recipe and
// pitfalls — forward_origins '{}' (no loops), last_update_wins with
// track_commit_timestamp (the default apply_remote silently diverges), synchronous_commit on,
// subscription names <subscriber>_from_<provider> (slot names must be unique per provider), and each
// node's subscriptions created in ONE transaction with the nodes in parallel (one at a time, pglogical
// starts the apply workers ~1 s apart). pglogical does not replicate DDL: exec() runs it everywhere.
import { BaseCluster, buildLocalCluster, FIXTURE_TABLES, settleNodes } from './cluster-base.js';
import { findPgBin } from './pg-bin.js';
import { createNodeFromTemplate, type LocalPgNode } from './pg-node.js';
import { sqlLiteral } from './test-users.js';
import type { ActiveActiveOptions, PgNode, PglogicalCluster } from './types.js';
import { waitFor } from './wait.js';

export class PglogicalClusterImpl extends BaseCluster implements PglogicalCluster {
  readonly kind = 'pglogical' as const;

  subscriptionName(subscriber: string, provider: string): string {
    return `${subscriber}_from_${provider}`;
  }

  async addToReplicationSet(table: string, set = 'default'): Promise<void> {
    const sql = 'SELECT pglogical.replication_set_add_table($1::name, $2::regclass, synchronize_data := false)';
    await Promise.all(this.nodes.map((n) => n.query(sql, [set, table])));
  }

  async disableSubscription(subscriber: string, provider: string): Promise<void> {
    this.assertOwned('disabling a subscription');
    const sql = 'SELECT pglogical.alter_subscription_disable($1::name, true)';
    await this.node(subscriber).query(sql, [this.subscriptionName(subscriber, provider)]);
  }

  async enableSubscription(subscriber: string, provider: string): Promise<void> {
    this.assertOwned('enabling a subscription');
    const sql = 'SELECT pglogical.alter_subscription_enable($1::name, true)';
    await this.node(subscriber).query(sql, [this.subscriptionName(subscriber, provider)]);
  }

  /**
   * Every subscription of a running node whose provider is running must be 'replicating'.
   * pglogical's manager restarts a crashed apply worker (e.g. its provider was restarted) only when
   * it next wakes up, which can be up to 180 s later; on a cluster we own, a subscription still 'down'
   * after 10 s is nudged with alter_subscription_enable, which wakes the manager.
   */
  async waitReplicating(timeoutMs = 60_000): Promise<void> {
    const running = this.nodes.filter((n) => n.isRunning());
    const expected = new Set<string>();
    for (const s of running) for (const p of running) if (s !== p) expected.add(this.subscriptionName(s.name, p.name));
    const lastNudge = new Map<string, number>();
    const started = Date.now();
    let last = '';
    await waitFor(
      async () => {
        const rows = await Promise.all(
          running.map(async (n) =>
            (await n.query<{ name: string; status: string }>('SELECT subscription_name AS name, status FROM pglogical.show_subscription_status()')).map(
              (r) => ({ ...r, node: n }),
            ),
          ),
        );
        const status = new Map(rows.flat().map((r) => [r.name, r]));
        last = [...expected].map((s) => `${s}=${status.get(s)?.status ?? 'missing'}`).join(' ');
        if ([...expected].every((s) => status.get(s)?.status === 'replicating')) return true;
        if (!this.isShared) await this.nudgeDown([...status.values()], expected, lastNudge, started);
        return false;
      },
      { timeoutMs, what: () => `pglogical subscriptions replicating (${last})` },
    );
  }

  private async nudgeDown(
    subs: Array<{ name: string; status: string; node: PgNode }>,
    expected: Set<string>,
    lastNudge: Map<string, number>,
    started: number,
  ): Promise<void> {
    const now = Date.now();
    for (const sub of subs) {
      if (!expected.has(sub.name) || sub.status !== 'down' || now - (lastNudge.get(sub.name) ?? started) < 10_000) continue;
      lastNudge.set(sub.name, now);
      await sub.node.query('SELECT pglogical.alter_subscription_enable($1::name, true)', [sub.name]).catch(() => {});
    }
  }
}

function nodeSettings(opts: ActiveActiveOptions): Record<string, string | number | boolean> {
  return {
    wal_level: 'logical',
    max_wal_senders: 10,
    max_replication_slots: 10,
    max_worker_processes: 16,
    track_commit_timestamp: true, // needed by last_update_wins / first_update_wins / keep_local
    shared_preload_libraries: 'pglogical',
    'pglogical.conflict_resolution': opts.resolution ?? 'last_update_wins',
    'pglogical.conflict_log_level': 'LOG', // conflicts show at the default log_min_messages
    // Recent minor releases (15.20 here) refuse an output plugin not listed here, and pglogical's is not by default.
    ...(findPgBin().hasSetting('output_plugin_libraries') ? { output_plugin_libraries: 'pgoutput, test_decoding, pglogical_output' } : {}),
    ...opts.settings,
  };
}

function dsn(host: string, port: number): string {
  return `host=${host} port=${port} dbname=app user=postgres`;
}

async function setUpNode(node: PgNode): Promise<void> {
  await node.query('CREATE EXTENSION IF NOT EXISTS pglogical');
  await node.query('SELECT pglogical.create_node(node_name := $1, dsn := $2)', [node.name, dsn(node.host, node.port)]);
  for (const t of FIXTURE_TABLES) {
    await node.query(t.ddl);
    await node.query("SELECT pglogical.replication_set_add_table('default', $1::regclass, synchronize_data := false)", [t.name]);
  }
}

async function subscribeToPeers(cluster: PglogicalClusterImpl, s: PgNode, opts: ActiveActiveOptions): Promise<void> {
  const delayMs = opts.applyDelayMs?.[s.name] ?? 0;
  const statements: string[] = [];
  for (const p of cluster.nodes) {
    if (p === s) continue;
    const addr = opts.providerAddress ? await opts.providerAddress(s, p) : { host: p.host, port: p.port };
    statements.push(`SELECT pglogical.create_subscription(
      subscription_name := ${sqlLiteral(cluster.subscriptionName(s.name, p.name))},
      provider_dsn := ${sqlLiteral(dsn(addr.host, addr.port))},
      replication_sets := ARRAY['default'],
      synchronize_structure := false,
      synchronize_data := false,
      forward_origins := '{}',
      apply_delay := '${delayMs} milliseconds'::interval)`);
  }
  // one simple-protocol query: BEGIN; …; COMMIT runs as one transaction on one connection
  await s.query(`BEGIN; ${statements.join(';\n')}; COMMIT`);
}

/**
 * N-node (default 3: n1, n2, n3) active-active cluster; resolves once all N×(N−1) subscriptions
 * replicate. Table accounts exists on every node, in replication set 'default'.
 */
export function startLocalActiveActive(opts: ActiveActiveOptions = {}): Promise<PglogicalCluster> {
  const bin = findPgBin();
  if (!bin.hasExtension('pglogical')) {
    return Promise.reject(new Error(`pglogical is not installed for PostgreSQL ${bin.major} (Debian: apt-get install postgresql-${bin.major}-pglogical)`));
  }
  const count = opts.nodes ?? 3;
  if (!Number.isInteger(count) || count < 2 || count > 5) return Promise.reject(new Error(`nodes must be 2..5, got ${count}`));
  return buildLocalCluster('pglogical', async (dir, nodes, teardown) => {
    const names = Array.from({ length: count }, (_, i) => `n${i + 1}`);
    const settings = nodeSettings(opts);
    const started: LocalPgNode[] = await settleNodes(
      nodes,
      names.map((name) => createNodeFromTemplate(dir, name, settings)),
    );
    await Promise.all(started.map(setUpNode));
    const cluster = new PglogicalClusterImpl(started, false, teardown);
    await Promise.all(started.map((s) => subscribeToPeers(cluster, s, opts)));
    await cluster.waitReplicating();
    return cluster;
  });
}
