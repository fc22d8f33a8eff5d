// Test support: the public shapes of test clusters. Integration tests code against these; keep the
// names stable. Implementations: cluster-*.ts (local processes), shared.ts (clusters shared across
// test files), docker.ts (opt-in testcontainers).
import type { ConfSettings, TestUserName } from './test-users.js';

export type ClusterKind = 'single' | 'pglogical' | 'physical';
/** Kinds a test may start for itself; 'bucardo' is never shared (its daemon lives in one test process). */
export type LocalClusterKind = ClusterKind | 'bucardo';
export type StopMode = 'fast' | 'immediate';

export interface PgNode {
  /** n1, n2, n3 (single, pglogical); primary, s1, s2 (physical) */
  readonly name: string;
  /** always 127.0.0.1 for local nodes */
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** the server's log file ('' when not local) */
  readonly logFile: string;
  /** Runs SQL as superuser postgres in database app; rows of the (last) statement. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows are typed by the caller; untyped tests read columns freely
  query<T = any>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Stops the server (default fast). The data dir stays: start() brings it back. */
  stop(mode?: StopMode): Promise<void>;
  /** Starts it again on the same port and data dir; resolves once it accepts connections. */
  start(): Promise<void>;
  /** pg_promote(wait => true): a standby becomes a writable primary. */
  promote(): Promise<void>;
  isRunning(): boolean;
  /** postgres://user:password@127.0.0.1:port/app for a test user (default postgres). */
  connectionString(user?: TestUserName): string;
  /** The last lines of the server log (for failure messages). */
  logTail(lines?: number): string;
}

export interface Cluster {
  readonly kind: ClusterKind;
  readonly nodes: PgNode[];
  /** True for sharedCluster(): destructive operations (stop/start/promote, pausing replication) throw. */
  readonly isShared: boolean;
  /** The node with this name (throws when there is none). */
  node(name: string): PgNode;
  /** Runs SQL on every writable node: all nodes (pglogical, which does not replicate DDL) or the primary. */
  exec(sql: string): Promise<void>;
  /** Immediate-stops every node and removes the data dirs; idempotent. A no-op for shared clusters. */
  stop(): Promise<void>;
}

export interface SingleCluster extends Cluster {
  readonly kind: 'single';
}

export interface PglogicalCluster extends Cluster {
  readonly kind: 'pglogical';
  /** Name of the subscription on `subscriber` that pulls from `provider`: `<subscriber>_from_<provider>`. */
  subscriptionName(subscriber: string, provider: string): string;
  /** Adds a table (existing on every node: create it with exec) to a replication set on every node. */
  addToReplicationSet(table: string, set?: string): Promise<void>;
  /** pglogical.alter_subscription_disable on `subscriber` for its link from `provider` (cuts that link). */
  disableSubscription(subscriber: string, provider: string): Promise<void>;
  enableSubscription(subscriber: string, provider: string): Promise<void>;
  /** Waits until every subscription of every running node reports 'replicating'. */
  waitReplicating(timeoutMs?: number): Promise<void>;
}

export interface PhysicalCluster extends Cluster {
  readonly kind: 'physical';
  readonly primary: PgNode;
  readonly standbys: PgNode[];
  /** pg_wal_replay_pause() on a standby: its lag grows while the primary writes. */
  pauseReplay(standby: string): Promise<void>;
  resumeReplay(standby: string): Promise<void>;
  /** Waits until every running standby has replayed the primary's current WAL position. */
  waitReplayed(timeoutMs?: number): Promise<void>;
}

/** Bucardo multi-master: nodes n1…nN in one multi-source sync, Bucardo's own database on a node of its own. */
export interface BucardoCluster extends Omit<Cluster, 'kind'> {
  readonly kind: 'bucardo';
  /** The server holding Bucardo's own database `bucardo` (not a master; not in the sync). */
  readonly control: PgNode;
  /** The sync's name (its relgroup and dbgroup have the same name). */
  readonly syncName: string;
  /** The tables in the sync, schema-qualified. */
  readonly tables: readonly string[];
  /** Runs the bucardo command-line tool against Bucardo's own database (throws on failure). */
  cli(args: readonly string[]): Promise<{ stdout: string; stderr: string }>;
  /** Live pids of the Bucardo daemon (MCP, VAC, CTL, KID); empty once stopped. */
  daemonPids(): number[];
  /** Kills the Bucardo daemon (every process of its group): replication stops, the nodes keep running. */
  stopDaemon(): Promise<void>;
  /** Starts the daemon again (`bucardo start`); resolves once its MCP runs. */
  startDaemon(): Promise<void>;
  /**
   * Kills and starts the daemon: what an operator does after a master came back. Bucardo 5.6 marks
   * a sync whose member was unreachable when its MCP (re)started as failed and leaves it so until
   * the next start (`bucardo restart`).
   */
  restartDaemon(): Promise<void>;
  /**
   * Waits until a row written on every running node has reached every other running node (Bucardo
   * replicates: its daemon runs and no member of the sync is unreachable). Returns the slowest
   * commit-to-visible time seen, in ms.
   */
  waitReplicating(timeoutMs?: number): Promise<number>;
  /** The last lines of Bucardo's log. */
  bucardoLogTail(lines?: number): string;
}

export interface BucardoOptions extends ClusterOptions {
  /** Number of masters, 2–5 (default 3): n1…nN, each a source of the one sync. */
  nodes?: number;
  /**
   * Tables to add to the sync, besides the fixture tables and meridian_heartbeat: name
   * (schema-qualified or in public) and the DDL that creates it on every node (none: `prepare`
   * made it). Each needs a primary key.
   */
  tables?: ReadonlyArray<{ name: string; ddl?: string }>;
  /** Runs on every master before Bucardo is set up (e.g. `pgbench -i`); name its tables in `tables`. */
  prepare?: (node: PgNode) => Promise<void>;
  /** Bucardo's loop sleeps (kid_sleep, ctl_sleep, mcp_loop_sleep) in seconds (default 0.05; Bucardo's own 0.2–0.5). */
  loopSleepS?: number;
}

export interface ClusterByKind {
  single: SingleCluster;
  pglogical: PglogicalCluster;
  physical: PhysicalCluster;
}

export interface ClusterOptions {
  /** Extra postgresql.conf settings for every node (strings are quoted for you). */
  settings?: ConfSettings;
}

export interface ActiveActiveOptions extends ClusterOptions {
  /** Number of nodes, 2–5 (default 3), each subscribing to all the others. */
  nodes?: number;
  /** pglogical.conflict_resolution (default last_update_wins). */
  resolution?: 'last_update_wins' | 'first_update_wins' | 'keep_local' | 'apply_remote' | 'error';
  /** A constant replication lag of a node behind its peers: pglogical apply_delay on its subscriptions. */
  applyDelayMs?: Record<string, number>;
  /**
   * Where `subscriber` connects to reach `provider` (default: the provider itself). Route links
   * through latency relays here to put nodes in different "regions".
   */
  providerAddress?: (subscriber: PgNode, provider: PgNode) => { host: string; port: number } | Promise<{ host: string; port: number }>;
}

export interface PrimaryStandbyOptions extends ClusterOptions {
  /** Number of hot standbys (default 2): s1, s2, … */
  standbys?: number;
  /** recovery_min_apply_delay per standby, e.g. { s2: 500 }: a constant lag. */
  applyDelayMs?: Record<string, number>;
}

/** What the broker sends a worker about a shared cluster. */
export interface ClusterDescriptor {
  kind: ClusterKind;
  nodes: Array<{ name: string; host: string; port: number; dataDir: string; logFile: string; pid: number | null }>;
}
