// Test support: a Bucardo multi-master cluster (Debian's bucardo 5.6 with PL/Perl). Masters n1…nN
// (default 3) hold the fixture tables, Meridian's heartbeat table and the harness's probe table,
// all in one relgroup and one multi-source sync (`dbs=n1:source,n2:source,…`, autokick: each
// commit's trigger NOTIFYs the daemon). Bucardo's own database lives on a server of its own
// (`control`), so stopping any master leaves Bucardo's configuration up. `bucardo install`, `add`,
// `set` and `start` run as this process's user over the control server's unix socket (local
// connections are trusted; the bucardo role has no password); Bucardo reaches the masters over TCP
// as postgres. Pid files, logs and the reason file are in the cluster's `bucardo` dir, never in
// /var/run or /var/log. Pitfalls found on the way:
// - Every table in a sync needs a primary key (Bucardo deletes and copies rows by it);
//   meridian_heartbeat has one (`node`).
// - Bucardo does not replicate DDL, and a table must exist on every node before the sync is added.
// - One multi-source sync applies each run to every node and commits them together: the nodes'
//   lags move together. A master that cannot be reached stalls the whole sync (Bucardo marks it
//   'stalled' and retries): the other masters stop exchanging changes until it returns.
// - Bucardo's loops sleep 0.2–0.5 s by default; the harness sets 0.05 s (loopSleepS). When a
//   database fails a ping, the MCP stops its controllers and kids and starts again after
//   mcp_dbproblem_sleep (default 15 s; the harness sets 1 s).
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildLocalCluster, createFixtureTables, FIXTURE_TABLES, settleNodes } from './cluster-base.js';
import { bucardoCli, bucardoLogTail, bucardoPids, findBucardo, killBucardo, pidDir, startBucardoDaemon, type BucardoControl } from './bucardo-daemon.js';
import { heartbeatTableDdl } from '../../src/health/init-heartbeat-command.js';
import { createNodeFromTemplate, type LocalPgNode } from './pg-node.js';
import type { BucardoCluster, BucardoOptions, PgNode } from './types.js';
import { waitFor } from './wait.js';
import { socketDir } from './workspace.js';

/**
 * Meridian's heartbeat table, created as `meridian init-heartbeat` creates it (which then finds it):
 * Bucardo needs it on every node before the sync is added, and in the sync.
 */
export const HEARTBEAT_TABLE = { name: 'meridian_heartbeat', ddl: heartbeatTableDdl('meridian_heartbeat') };
/** The harness's own table for waitReplicating: one row per node. */
const PROBE_TABLE = {
  name: 'bucardo_probe',
  ddl: 'CREATE TABLE IF NOT EXISTS bucardo_probe(node text PRIMARY KEY, token bigint NOT NULL, at timestamptz NOT NULL)',
};
const SYNC = 'meridian';

class BucardoClusterImpl implements BucardoCluster {
  readonly kind = 'bucardo' as const;
  readonly isShared = false;
  readonly syncName = SYNC;
  private stopping: Promise<void> | undefined;
  private token = Date.now();

  constructor(
    readonly nodes: PgNode[],
    readonly control: PgNode,
    readonly tables: readonly string[],
    private readonly ctl: BucardoControl,
    private readonly teardown: () => Promise<void>,
  ) {}

  node(name: string): PgNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name} in this Bucardo cluster (${this.nodes.map((n) => n.name).join(', ')})`);
    return node;
  }

  /** Bucardo does not replicate DDL: SQL runs on every master. */
  async exec(sql: string): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.query(sql)));
  }

  async cli(args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
    const r = await bucardoCli(this.ctl, args);
    return { stdout: r.stdout, stderr: r.stderr };
  }

  daemonPids(): number[] {
    return bucardoPids(this.ctl);
  }

  async startDaemon(): Promise<void> {
    if (this.daemonPids().length > 0) return;
    // A killed daemon leaves its pid files: `bucardo start` would refuse ("already running").
    rmSync(pidDir(this.ctl), { recursive: true, force: true });
    await startBucardoDaemon(this.ctl);
  }

  stopDaemon(): Promise<void> {
    return killBucardo(this.ctl);
  }

  async restartDaemon(): Promise<void> {
    await this.stopDaemon();
    await this.startDaemon();
  }

  async waitReplicating(timeoutMs = 60_000): Promise<number> {
    const running = this.nodes.filter((n) => n.isRunning());
    const token = ++this.token;
    const written = new Map<string, number>();
    for (const n of running) {
      await n.query('INSERT INTO bucardo_probe VALUES ($1, $2, clock_timestamp()) ON CONFLICT (node) DO UPDATE SET token = excluded.token, at = excluded.at', [
        n.name,
        token,
      ]);
      written.set(n.name, Date.now());
    }
    let slowest = 0;
    let missing = '';
    await waitFor(
      async () => {
        const gaps: string[] = [];
        for (const n of running) {
          const rows = await n.query<{ node: string; token: string }>('SELECT node, token FROM bucardo_probe');
          const have = new Map(rows.map((r) => [r.node, Number(r.token)]));
          for (const o of running) {
            if (o === n) continue;
            if (have.get(o.name) === token) slowest = Math.max(slowest, Date.now() - written.get(o.name)!);
            else gaps.push(`${o.name}→${n.name}`);
          }
        }
        missing = gaps.join(' ');
        return gaps.length === 0;
      },
      { timeoutMs, intervalMs: 20, what: () => `Bucardo replicating (missing ${missing})\n${this.bucardoLogTail()}` },
    );
    return slowest;
  }

  bucardoLogTail(lines = 40): string {
    return bucardoLogTail(this.ctl, lines);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        await this.stopDaemon();
      } finally {
        await this.teardown();
      }
    })();
    return this.stopping;
  }
}

/** `bucardo install`, the settings, the masters, the relgroup and the sync; the daemon is not started. */
async function configureBucardo(ctl: BucardoControl, masters: readonly PgNode[], tables: readonly string[], loopSleepS: number): Promise<void> {
  // --batch answers every prompt with its default; the connection options say where to install.
  await bucardoCli(
    ctl,
    ['install', '--batch', '--dbuser', 'postgres', '--dbname', 'postgres', '--dbhost', ctl.socketDir, '--dbport', String(ctl.port), '--pid-dir', pidDir(ctl)],
    'P\n',
  );
  const logs = join(ctl.dir, 'log');
  await bucardoCli(ctl, [
    'set',
    `piddir=${pidDir(ctl)}`,
    `reason_file=${join(logs, 'restart.reason')}`,
    `log_conflict_file=${join(logs, 'conflict.log')}`,
    `warning_file=${join(logs, 'warning.log')}`,
    `kid_sleep=${loopSleepS}`,
    `ctl_sleep=${loopSleepS}`,
    `mcp_loop_sleep=${loopSleepS}`,
    `kid_nodeltarows_sleep=${loopSleepS}`,
    // After a database fails a ping the MCP stops everything and respawns after this (default 15 s)
    'mcp_dbproblem_sleep=1',
    'bucardo_vac=0', // the VAC process purges old delta rows: not needed for a test's lifetime
  ]);
  for (const n of masters) {
    await bucardoCli(ctl, ['add', 'db', n.name, 'dbname=app', `host=${n.host}`, `port=${n.port}`, 'user=postgres']);
  }
  await bucardoCli(ctl, ['add', 'table', ...tables, `db=${masters[0]!.name}`, `relgroup=${SYNC}`]);
  await bucardoCli(ctl, ['add', 'sync', SYNC, `relgroup=${SYNC}`, `dbs=${masters.map((n) => `${n.name}:source`).join(',')}`, 'autokick=1']);
}

/**
 * N masters (default 3: n1, n2, n3) replicating through one Bucardo multi-source sync; resolves once
 * a row written on each reached every other. Bucardo runs as this process's user (root in CI is fine:
 * only PostgreSQL refuses root).
 */
export function startBucardoCluster(opts: BucardoOptions = {}): Promise<BucardoCluster> {
  const found = findBucardo();
  if ('missing' in found) return Promise.reject(new Error(found.missing));
  const count = opts.nodes ?? 3;
  if (!Number.isInteger(count) || count < 2 || count > 5) return Promise.reject(new Error(`nodes must be 2..5, got ${count}`));
  return buildLocalCluster('bucardo', async (dir, nodes, teardown) => {
    const names = Array.from({ length: count }, (_, i) => `n${i + 1}`);
    const started: LocalPgNode[] = await settleNodes(
      nodes,
      [...names, 'bucardo'].map((name) => createNodeFromTemplate(dir, name, opts.settings ?? {})),
    );
    const control = started.find((n) => n.name === 'bucardo')!;
    const masters = started.filter((n) => n !== control);
    const extra = [HEARTBEAT_TABLE, PROBE_TABLE, ...(opts.tables ?? [])];
    await Promise.all(
      masters.map(async (n) => {
        await createFixtureTables(n);
        for (const t of extra) if (t.ddl) await n.query(t.ddl);
        await opts.prepare?.(n);
      }),
    );
    const qualify = (name: string) => (name.includes('.') ? name : `public.${name}`);
    const tables = [...FIXTURE_TABLES, ...extra].map((t) => qualify(t.name));
    const bucardoDir = join(dir, 'bucardo');
    mkdirSync(bucardoDir, { recursive: true });
    const ctl: BucardoControl = { bin: found.bin, socketDir: socketDir(), port: control.port, dir: bucardoDir };
    // The daemon must die before the nodes' teardown removes its dir.
    const cluster = new BucardoClusterImpl(masters, control, tables, ctl, teardown);
    try {
      await configureBucardo(ctl, masters, tables, opts.loopSleepS ?? 0.05);
      await cluster.startDaemon();
      await cluster.waitReplicating();
    } catch (e) {
      await cluster.stopDaemon();
      throw e;
    }
    return cluster;
  });
}
