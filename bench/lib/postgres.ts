// Bench support: PostgreSQL 15 nodes from the machine's packages, in the run's temp dir, on free
// loopback ports. initdb runs once (as the postgres OS user when we are root) and is copied per node;
// each postmaster runs in the foreground under our process registry. Settings favour a stable
// benchmark over durability (fsync off) and leave room for every proxy's backends at once.
import { appendFileSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { pgUserIds, run, runChecked, sleep, startDaemon, type Daemon } from './proc.js';

export const PG_BIN = findPgBin();
export const BENCH_USER = 'bench';
export const BENCH_PASSWORD = 'x';
export const BENCH_DB = 'bench';

function findPgBin(): string {
  for (const v of ['15', '16', '17', '14']) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(join(dir, 'postgres'))) return dir;
  }
  return '/usr/lib/postgresql/15/bin';
}

export const pgTool = (name: string): string => join(PG_BIN, name);

export interface NodeOptions {
  name: string;
  /** Extra postgresql.conf lines (e.g. pglogical's). */
  extraConf?: string[];
}

export class PgNode {
  readonly name: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  daemon: Daemon | null = null;

  constructor(name: string, port: number, dataDir: string, logFile: string) {
    this.name = name;
    this.port = port;
    this.dataDir = dataDir;
    this.logFile = logFile;
  }

  get pid(): number {
    return this.daemon?.pid ?? -1;
  }

  async start(timeoutMs = 90_000): Promise<void> {
    this.daemon = startDaemon(`postgres ${this.name}`, pgTool('postgres'), ['-D', this.dataDir], {
      logFile: this.logFile,
      asPgUser: true,
      stopSignal: 'SIGINT', // fast shutdown
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.daemon.hasExited) throw new Error(`postgres ${this.name} exited during start-up; see ${this.logFile}`);
      const r = await run(pgTool('pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres'], { timeoutMs: 5000 });
      if (r.code === 0) return;
      await sleep(150);
    }
    throw new Error(`postgres ${this.name} not ready after ${timeoutMs} ms; see ${this.logFile}`);
  }

  async stop(): Promise<void> {
    await this.daemon?.stop(15_000);
  }

  /** Runs SQL as the postgres superuser; returns unaligned, tuples-only output. */
  /** Waits until `n` standbys stream from this node and have replayed everything written so far. */
  async waitStandbys(n: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      last = await this.sql("SELECT count(*) FILTER (WHERE state = 'streaming' AND replay_lsn >= pg_current_wal_lsn()) FROM pg_stat_replication");
      if (Number(last) >= n) return;
      await sleep(250);
    }
    throw new Error(`standbys of ${this.name} not caught up after ${timeoutMs} ms (${last}/${n})`);
  }

  async sql(sql: string, db = 'postgres', timeoutMs = 120_000): Promise<string> {
    const r = await runChecked(
      pgTool('psql'),
      ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres', '-d', db, '-c', sql],
      { timeoutMs },
    );
    return r.stdout.trim();
  }
}

export class PgFactory {
  private readonly root: string;
  private readonly runDir: string;
  private template: string | null = null;

  constructor(root: string) {
    this.root = root;
    this.runDir = join(root, 'pgrun');
    mkdirSync(this.runDir, { recursive: true });
    chownToPg(root);
    chownToPg(this.runDir);
  }

  private async ensureTemplate(): Promise<string> {
    if (this.template) return this.template;
    const dir = join(this.root, 'template');
    await runChecked(pgTool('initdb'), ['-D', dir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], {
      asPgUser: true,
      timeoutMs: 120_000,
    });
    this.template = dir;
    return dir;
  }

  private confLines(name: string, port: number, extra: readonly string[]): string {
    return [
      '',
      '# meridian bench',
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${this.runDir}'`,
      `cluster_name = '${name}'`,
      'max_connections = 500',
      'shared_buffers = 256MB',
      'fsync = off',
      'full_page_writes = off',
      'synchronous_commit = on',
      'wal_level = replica',
      'max_wal_senders = 10',
      'max_replication_slots = 10',
      'hot_standby = on',
      'hot_standby_feedback = on',
      'wal_receiver_status_interval = 1s',
      'max_wal_size = 2GB',
      'checkpoint_timeout = 30min',
      'log_min_messages = warning',
      'log_checkpoints = off',
      ...extra,
      '',
    ].join('\n');
  }

  /** A fresh primary (copied from the initdb template). */
  async createNode(opts: NodeOptions): Promise<PgNode> {
    const template = await this.ensureTemplate();
    const port = await freePort();
    const dir = join(this.root, `data-${opts.name}`);
    await runChecked('cp', ['-a', template, dir]);
    appendFileSync(join(dir, 'postgresql.conf'), this.confLines(opts.name, port, opts.extraConf ?? []));
    return new PgNode(opts.name, port, dir, join(this.root, `${opts.name}.log`));
  }

  /** A streaming hot standby of `primary` (pg_basebackup -R with its own slot); not started. */
  async createStandby(primary: PgNode, name: string): Promise<PgNode> {
    const port = await freePort();
    const dir = join(this.root, `data-${name}`);
    await runChecked(
      pgTool('pg_basebackup'),
      ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', dir, '-R', '-X', 'stream', '-C', '-S', name, '--no-sync', '-c', 'fast'],
      { asPgUser: true, timeoutMs: 300_000 },
    );
    // The copy carries the primary's port and cluster_name: override them (later lines win).
    appendFileSync(join(dir, 'postgresql.conf'), `\nport = ${port}\ncluster_name = '${name}'\n`);
    return new PgNode(name, port, dir, join(this.root, `${name}.log`));
  }

  /** An independent primary copied from a running node (pg_basebackup without -R): same data, own port. */
  async createCopy(source: PgNode, name: string, extraConf: readonly string[]): Promise<PgNode> {
    const port = await freePort();
    const dir = join(this.root, `data-${name}`);
    await runChecked(
      pgTool('pg_basebackup'),
      ['-h', '127.0.0.1', '-p', String(source.port), '-U', 'postgres', '-D', dir, '-X', 'stream', '--no-sync', '-c', 'fast'],
      { asPgUser: true, timeoutMs: 300_000 },
    );
    appendFileSync(join(dir, 'postgresql.conf'), this.confLines(name, port, extraConf));
    return new PgNode(name, port, dir, join(this.root, `${name}.log`));
  }
}

function chownToPg(path: string): void {
  const ids = pgUserIds();
  if (ids) chownSync(path, ids.uid, ids.gid);
}

/** Creates the bench role and database and loads pgbench's tables at the given scale. */
export async function initPgbench(node: PgNode, scale: number): Promise<void> {
  await node.sql(`CREATE ROLE ${BENCH_USER} LOGIN SUPERUSER PASSWORD '${BENCH_PASSWORD}'`);
  await node.sql(`CREATE DATABASE ${BENCH_DB} OWNER ${BENCH_USER}`);
  // Server-side data generation (G) is the quickest; v = vacuum, p = primary keys.
  await runChecked(
    pgTool('pgbench'),
    ['-i', '-I', 'dtGvp', '-s', String(scale), '-q', '-h', '127.0.0.1', '-p', String(node.port), '-U', BENCH_USER, BENCH_DB],
    { timeoutMs: 600_000 },
  );
  await node.sql('CHECKPOINT');
}
