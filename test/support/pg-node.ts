// Test support: PgNode implementations. BasePgNode owns the superuser query pool; LocalPgNode owns one
// postmaster we started (config, start/stop/promote, port retry); AttachedPgNode is a node another
// process owns (shared clusters): it can query, never stop or start.
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { pidState } from './pg-bin.js';
import { PostmasterStartError, readTail, spawnPostmaster, stopPostmaster, waitReady, type Postmaster } from './postmaster.js';
import { freePort } from './ports.js';
import { commonSettings, confLines, TEST_DATABASE, TEST_USERS, type ConfSettings, type TestUserName } from './test-users.js';
import type { ClusterDescriptor, PgNode, StopMode } from './types.js';
import { copyTemplate, mkdirOwned, socketDir } from './workspace.js';

export class SharedClusterError extends Error {
  constructor(what: string) {
    super(`${what} is not allowed on a shared cluster: start your own cluster (startSingleNode, startActiveActive, startPrimaryStandby) for destructive tests`);
    this.name = 'SharedClusterError';
  }
}

export abstract class BasePgNode implements PgNode {
  abstract readonly name: string;
  abstract readonly host: string;
  abstract readonly port: number;
  abstract readonly dataDir: string;
  abstract readonly logFile: string;
  private pool: pg.Pool | null = null;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows are typed by the caller; untyped tests read columns freely
  async query<T = any>(sql: string, params?: unknown[]): Promise<T[]> {
    this.pool ??= this.createPool();
    try {
      const res = (await this.pool.query(sql, params)) as unknown as pg.QueryResult | pg.QueryResult[];
      const last = Array.isArray(res) ? res[res.length - 1] : res;
      return (last?.rows ?? []) as T[];
    } catch (e) {
      if (e instanceof Error) e.message = `[${this.name} :${this.port}] ${e.message}`;
      throw e;
    }
  }

  private createPool(): pg.Pool {
    const pool = new pg.Pool({
      host: this.host,
      port: this.port,
      user: 'postgres',
      database: TEST_DATABASE,
      max: 4,
      idleTimeoutMillis: 1_000,
      connectionTimeoutMillis: 30_000,
      allowExitOnIdle: true,
    });
    // An idle client whose server went away emits 'error'; the pool drops it. Never crash the run.
    pool.on('error', () => {});
    return pool;
  }

  /** Closes the query pool (after the server stopped, its clients are dead). */
  async endPool(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.end().catch(() => {});
  }

  connectionString(user: TestUserName = 'postgres'): string {
    const u = TEST_USERS[user];
    const auth = u.password === undefined ? u.name : `${u.name}:${encodeURIComponent(u.password)}`;
    return `postgres://${auth}@${this.host}:${this.port}/${TEST_DATABASE}`;
  }

  logTail(lines = 40): string {
    return this.logFile ? readTail(this.logFile, lines) : '(no local log)';
  }

  abstract stop(mode?: StopMode): Promise<void>;
  abstract start(): Promise<void>;
  abstract promote(): Promise<void>;
  abstract isRunning(): boolean;
}

export class LocalPgNode extends BasePgNode {
  readonly host = '127.0.0.1';
  port = 0;
  private pm: Postmaster | null = null;

  constructor(
    readonly name: string,
    readonly dataDir: string,
    readonly logFile: string,
  ) {
    super();
  }

  get pid(): number | null {
    return this.pm && !this.pm.hasExited() ? this.pm.pid : null;
  }

  isRunning(): boolean {
    return this.pid !== null;
  }

  /** Appends settings to postgresql.conf (later lines win). */
  appendConf(settings: ConfSettings): void {
    appendFileSync(join(this.dataDir, 'postgresql.conf'), `\n# meridian test harness\n${confLines(settings)}\n`);
  }

  async start(): Promise<void> {
    if (this.isRunning()) return;
    if (!this.port) throw new Error(`${this.name}: no port configured (use startOnFreePort)`);
    const pm = spawnPostmaster(this.dataDir, this.logFile);
    this.pm = pm;
    try {
      await waitReady(pm, this.dataDir, this.logFile);
    } catch (e) {
      await stopPostmaster(pm, 'immediate').catch(() => {});
      throw e;
    }
  }

  /** Picks a free port, writes it to the config and starts; retries when another process took it. */
  async startOnFreePort(attempts = 5): Promise<void> {
    for (let i = 1; ; i++) {
      this.port = await freePort();
      this.appendConf({ port: this.port });
      try {
        await this.start();
        return;
      } catch (e) {
        if (!(e instanceof PostmasterStartError && e.isPortConflict) || i >= attempts) throw e;
      }
    }
  }

  async stop(mode: StopMode = 'fast'): Promise<void> {
    await this.endPool();
    const pm = this.pm;
    if (!pm) return;
    await stopPostmaster(pm, mode);
  }

  async promote(): Promise<void> {
    const [row] = await this.query<{ promoted: boolean }>('SELECT pg_promote(true, 60) AS promoted');
    if (!row?.promoted) throw new Error(`${this.name}: pg_promote did not finish within 60 s\n${this.logTail()}`);
    // pg_promote returns once recovery ended; reconnect so pooled sessions see the new role
    await this.endPool();
  }
}

/** Creates `clusterDir/<name>/{data,postgres.log}` from the template with the common settings, and starts it. */
export async function createNodeFromTemplate(clusterDir: string, name: string, settings: ConfSettings): Promise<LocalPgNode> {
  const nodeDir = mkdirOwned(join(clusterDir, name));
  const node = new LocalPgNode(name, join(nodeDir, 'data'), join(nodeDir, 'postgres.log'));
  await copyTemplate(node.dataDir);
  node.appendConf({ ...commonSettings(), unix_socket_directories: socketDir(), cluster_name: name, ...settings });
  await node.startOnFreePort();
  return node;
}

/** A node of a cluster another process (the broker) owns. */
export class AttachedPgNode extends BasePgNode {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  private readonly pid: number | null;

  constructor(d: ClusterDescriptor['nodes'][number]) {
    super();
    this.name = d.name;
    this.host = d.host;
    this.port = d.port;
    this.dataDir = d.dataDir;
    this.logFile = d.logFile && existsSync(d.logFile) ? d.logFile : '';
    this.pid = d.pid;
  }

  isRunning(): boolean {
    return this.pid === null || pidState(this.pid) === 'alive';
  }
  stop(): Promise<void> {
    return Promise.reject(new SharedClusterError(`stopping node ${this.name}`));
  }
  start(): Promise<void> {
    return Promise.reject(new SharedClusterError(`starting node ${this.name}`));
  }
  promote(): Promise<void> {
    return Promise.reject(new SharedClusterError(`promoting node ${this.name}`));
  }
}
