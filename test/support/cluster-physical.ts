// Test support: a primary with N (default 2) streaming hot standbys. Recipe —
// pg_basebackup -R -X stream -S <name> (standby.signal, primary_conninfo, a physical slot each);
// the copied postgresql.conf still names the primary's port and cluster_name, so the standby appends
// its own (later lines win); hot_standby_feedback and wal_receiver_status_interval=1s are set on the
// primary and copied along.
import { join } from 'node:path';
import { BaseCluster, buildLocalCluster, createFixtureTables, settleNodes } from './cluster-base.js';
import { findPgBin } from './pg-bin.js';
import { createNodeFromTemplate, LocalPgNode } from './pg-node.js';
import { runChecked } from './proc.js';
import type { PgNode, PhysicalCluster, PrimaryStandbyOptions } from './types.js';
import { waitFor } from './wait.js';
import { mkdirOwned } from './workspace.js';

export class PhysicalClusterImpl extends BaseCluster implements PhysicalCluster {
  readonly kind = 'physical' as const;

  constructor(
    readonly primary: PgNode,
    readonly standbys: PgNode[],
    isShared: boolean,
    teardown: () => Promise<void>,
  ) {
    super([primary, ...standbys], isShared, teardown);
  }

  protected override writableNodes(): PgNode[] {
    return [this.primary];
  }

  private standby(name: string): PgNode {
    const node = this.standbys.find((n) => n.name === name);
    if (!node) throw new Error(`no standby ${name} (${this.standbys.map((n) => n.name).join(', ')})`);
    return node;
  }

  async pauseReplay(standby: string): Promise<void> {
    this.assertOwned('pausing replay');
    await this.standby(standby).query('SELECT pg_wal_replay_pause()');
  }

  async resumeReplay(standby: string): Promise<void> {
    this.assertOwned('resuming replay');
    await this.standby(standby).query('SELECT pg_wal_replay_resume()');
  }

  /** Running standbys still in recovery and not paused must reach the primary's current LSN. */
  async waitReplayed(timeoutMs = 60_000): Promise<void> {
    const [row] = await this.primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const lsn = row?.lsn ?? '0/0';
    const pending = new Set(this.standbys.filter((s) => s.isRunning()).map((s) => s.name));
    await waitFor(
      async () => {
        for (const name of [...pending]) {
          const [r] = await this.standby(name).query<{ done: boolean }>(
            `SELECT NOT pg_is_in_recovery() OR pg_is_wal_replay_paused() OR pg_last_wal_replay_lsn() >= $1::pg_lsn AS done`,
            [lsn],
          );
          if (r?.done) pending.delete(name);
        }
        return pending.size === 0;
      },
      { timeoutMs, what: () => `standbys ${[...pending].join(', ')} to replay ${lsn}` },
    );
  }
}

function primarySettings(opts: PrimaryStandbyOptions): Record<string, string | number | boolean> {
  return {
    wal_level: 'replica',
    max_wal_senders: 10,
    max_replication_slots: 10,
    hot_standby: true,
    hot_standby_feedback: true, // copied to the standbys: no query cancels from vacuum
    wal_receiver_status_interval: '1s', // standbys report every second: fresher pg_stat_replication
    track_commit_timestamp: true,
    ...opts.settings,
  };
}

async function createStandby(dir: string, name: string, primary: LocalPgNode, opts: PrimaryStandbyOptions): Promise<LocalPgNode> {
  const nodeDir = mkdirOwned(join(dir, name));
  const node = new LocalPgNode(name, join(nodeDir, 'data'), join(nodeDir, 'postgres.log'));
  const args = ['-h', primary.host, '-p', String(primary.port), '-U', 'postgres', '-D', node.dataDir];
  args.push('-R', '-X', 'stream', '-S', name, '--no-sync', '-c', 'fast');
  await runChecked(findPgBin().path('pg_basebackup'), args, { asPgUser: true, timeoutMs: 120_000 });
  const delayMs = opts.applyDelayMs?.[name];
  node.appendConf({ cluster_name: name, ...(delayMs ? { recovery_min_apply_delay: `${delayMs}ms` } : {}) });
  await node.startOnFreePort();
  return node;
}

/** Primary `primary` + hot standbys s1…sN, streaming; resolves once every standby has replayed. */
export function startLocalPrimaryStandby(opts: PrimaryStandbyOptions = {}): Promise<PhysicalCluster> {
  const count = opts.standbys ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 5) return Promise.reject(new Error(`standbys must be 1..5, got ${count}`));
  return buildLocalCluster('physical', async (dir, nodes, teardown) => {
    const primary = await createNodeFromTemplate(dir, 'primary', primarySettings(opts));
    nodes.push(primary);
    await createFixtureTables(primary);
    const names = Array.from({ length: count }, (_, i) => `s${i + 1}`);
    // Slots first, reserving WAL now: with pg_basebackup -C each backup's slot would only reserve WAL
    // from the latest checkpoint, and a parallel backup's checkpoint can remove the segment the other
    // one starts from ("requested WAL segment … has already been removed").
    for (const n of names) await primary.query('SELECT pg_create_physical_replication_slot($1, true)', [n]);
    const standbys = await settleNodes(
      nodes,
      names.map((n) => createStandby(dir, n, primary, opts)),
    );
    await waitFor(
      async () => {
        const [r] = await primary.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'");
        return (r?.n ?? 0) >= count;
      },
      { what: `${count} standbys streaming from the primary` },
    );
    const cluster = new PhysicalClusterImpl(primary, standbys, false, teardown);
    await cluster.waitReplayed();
    return cluster;
  });
}
