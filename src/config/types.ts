// The validated, frozen shape of Meridian's configuration. Owns the types only: loading,
// validation and defaults live in load-config.ts / schema.ts. Every duration is in ms here
// (the YAML accepts "500ms", "2s", "1m", "1h" or a bare number of ms).

export type PoolMode = 'transaction' | 'session';
export type AuthMethod = 'scram-sha-256' | 'md5' | 'password' | 'trust';
export type { ClusterKind } from '../cluster/kinds/names.js';
import type { ClusterKind } from '../cluster/kinds/names.js';
export type ReadsOnMasters = 'always' | 'fallback' | 'never';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type BackendTlsMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
/** What a node may ask Meridian for (cluster.auth_methods): password = cleartext over TLS only, insecure-password = cleartext over any connection. */
export type BackendAuthMethod = 'scram-sha-256' | 'md5' | 'password' | 'insecure-password' | 'trust';

export interface Location {
  readonly lat: number;
  readonly lon: number;
}

export interface ListenConfig {
  readonly host: string;
  readonly port: number;
}

export interface TlsConfig {
  readonly cert: string; // path to PEM
  readonly key: string; // path to PEM
  readonly mode: 'allow' | 'require';
}

export interface PoolConfig {
  readonly mode: PoolMode;
  readonly size: number; // max backends per (node, user, database)
  readonly minIdle: number; // kept open per pool (0 = none)
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly queueTimeoutMs: number; // how long a session waits for a backend
  readonly connectTimeoutMs: number;
  readonly maxClients: number; // logged-in client sessions (admin console included); beyond: 53300
  readonly preparedStatementsPerBackend: number; // LRU limit of Meridian-named statements per backend
  readonly resetQuery: string | null; // run when a backend changes hands between sessions (null: off; DISCARD ALL in session pooling)
  readonly maxPools: number; // (node, user, database) pools; beyond: 53300
  /** Session pooling: a backend serves the next client after its reset (true), or closes with its session (false). */
  readonly sessionReuse: boolean;
}

export interface UserConfig {
  readonly name: string;
  readonly password: string | null; // null only with auth: trust; may be a stored SCRAM secret (SCRAM-SHA-256$…)
  readonly auth: AuthMethod;
  readonly backendUser: string; // defaults to name
  readonly backendPassword: string | null; // defaults to password (null when password is a stored secret: SCRAM pass-through)
  readonly maxConnections: number | null; // client sessions of this user at once (admin console excluded); null: no limit
  /** Tenants this user may claim with meridian.tenant; null: not listed (see ResidencyConfig.bindTenants). */
  readonly tenants: readonly string[] | null;
}

export interface NodeConfig {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly region: string;
  readonly location: Location | null;
  readonly priority: number; // higher wins split-brain ties; default 0
}

export interface ClusterConfig {
  readonly kind: ClusterKind;
  readonly nodes: readonly NodeConfig[];
  readonly tls: BackendTlsMode; // TLS from Meridian to the nodes
  readonly tlsCa: string | null; // PEM read from cluster.tls_ca (required by verify-ca / verify-full)
  readonly authMethods: readonly BackendAuthMethod[]; // default scram-sha-256, md5, password, trust
  /** Patroni as the topology source (physical kind only); null: roles from probes alone. */
  readonly patroni: PatroniConfig | null;
}

export interface PatroniConfig {
  readonly urls: readonly string[]; // REST API base URLs (any member's), tried in turn
  readonly intervalMs: number; // GET /cluster this often; default 1000
  readonly timeoutMs: number; // per request; default 1000
  readonly switchoverTimeoutMs: number; // SWITCHOVER TO: in-flight wait + promotion; default 30 s
}

export interface AuthQueryConfig {
  readonly query: string; // one $1 parameter (the user name); returns (name, secret) rows
  readonly user: string; // the auth user Meridian runs the query as
  readonly password: string | null;
  readonly database: string; // default: the client's database is not used; this one is
  readonly cacheTtlMs: number; // default 60 s (negative answers: a tenth of it, at most 5 s)
  readonly maxConcurrent: number; // lookups in flight at once; beyond: the attempt fails
}

export interface AuthConfig {
  /** Key of the fake verifiers unknown users get (auth.mock_key); null: random per process. */
  readonly mockKey: string | null;
  readonly failureDelayMs: number; // default 0: a failed login is answered at once
  readonly query: AuthQueryConfig | null;
}

export interface HealthConfig {
  readonly intervalMs: number; // default 1000
  readonly timeoutMs: number; // default 1000
  readonly rise: number; // default 2
  readonly fall: number; // default 2
  readonly fastIntervalMs: number; // while a node is changing state; default 250
  readonly jitter: number; // fraction of interval, default 0.1
  readonly user: string; // probe user; default: first user's backendUser
  readonly password: string | null;
  readonly database: string; // where probes (and the heartbeat table) live; default 'postgres'
  readonly heartbeatTable: string; // default 'meridian_heartbeat'
}

export interface RoutingConfig {
  readonly writeWaitMs: number; // default 2000
  readonly maxReadLagMs: number; // default 5000
  readonly lagToleranceMs: number; // default 100
  readonly readsOnMasters: ReadsOnMasters; // default: always for active-active kinds, fallback for physical
  readonly readmitMaxLagMs: number; // default 1000
  readonly writeFunctions: readonly string[];
  readonly readFunctions: readonly string[];
  readonly catalogRefreshMs: number; // default 60000
  readonly retryReads: boolean; // retry an autocommit read that got nothing yet once; default true
  /** After a session's write, its reads go only to nodes that replayed it (or the writer); default false. */
  readonly readYourWrites: boolean;
  /** Read-your-writes may read at once from a standby the primary waits for (remote_apply, sync); default true. */
  readonly trustSyncStandbys: boolean;
  /** A read bound by a causal token waits this long for a node known to have the write; default 2000. */
  readonly causalWaitMs: number;
  /** Each committed write's causal token goes to the client as ParameterStatus meridian.causal_token; default false. */
  readonly reportCausalToken: boolean;
  /** Retry once elsewhere an autocommit DML a node refused as read-only (25006) before running it; default true. */
  readonly retryRefusedWrites: boolean;
  /** A lone BEGIN is answered by Meridian and sent with the transaction's first statement; default true. */
  readonly deferBegin: boolean;
  /** A transaction whose backend is lost before COMMIT is replayed on the master routing picks then, if every result is the same; default false. */
  readonly transactionReplay: boolean;
  /** What one transaction may send before replay is off for it (its statements are kept until it ends); default 1 MiB. */
  readonly transactionReplayMaxBytes: number;
}

export interface ResidencyMatch {
  readonly user: string | null;
  readonly database: string | null;
  readonly applicationName: string | null;
  readonly tenant: string | null; // startup option meridian.tenant
  readonly cidr: string | null; // client address, e.g. 10.1.0.0/16 or ::1/128
}

export interface ResidencyRule {
  readonly name: string;
  readonly match: ResidencyMatch;
  readonly regions: readonly string[];
}

/**
 * residency: the rules plus how strictly they bind. Every rule a session matches applies (the
 * session may use only the regions all of them allow); see residency-match.ts.
 */
export interface ResidencyConfig {
  /** A session no rule matches is refused at login (57M01); default false (it may use every node). */
  readonly requireMatch: boolean;
  /**
   * A user without users[].tenants may claim no tenant; default true as soon as any user lists
   * tenants, else false (claims unchecked, as before tenants existed).
   */
  readonly bindTenants: boolean;
  readonly rules: readonly ResidencyRule[];
}

export interface DrainConfig {
  readonly timeoutMs: number; // default 30000
  readonly onTimeout: 'cancel' | 'leave'; // default cancel
}

/** OpenTelemetry spans per request (tracing/tracer.ts); off by default. */
export interface TracingConfig {
  readonly enabled: boolean;
  /** OTLP/HTTP traces endpoint; null: spans are made and dropped. */
  readonly otlpEndpoint: string | null;
  /** Fraction of requests traced, 0..1; default 1. */
  readonly sampleRatio: number;
  readonly serviceName: string;
}

/** SIGTERM, SIGINT and SHUTDOWN (server.ts stop). */
export interface ShutdownConfig {
  /** Transactions in progress get this long to finish; default 20000. */
  readonly graceMs: number;
  /** /readyz answers 503 this long before the listener closes (clients keep being served meanwhile); default 0. */
  readonly unreadyDelayMs: number;
}

export interface AdminHttpConfig {
  readonly host: string;
  readonly port: number;
  readonly token: string | null; // null: every protected endpoint answers 401
  /** Host header names accepted besides loopback names and the listen address (DNS rebinding guard). */
  readonly allowedHosts: readonly string[];
}

export interface AdminConfig {
  readonly database: string; // default 'meridian'
  readonly users: readonly string[]; // names from users[] allowed on the console
  readonly http: AdminHttpConfig | null;
}

/** Several Meridian instances sharing drains and membership through etcd (src/etcd-fleet/). */
export interface FleetConfig {
  /** etcd client URLs (http:// or https://). */
  readonly endpoints: readonly string[];
  /** Every key lives under it, without a trailing "/" (default /meridian). */
  readonly prefix: string;
  /** This instance's name in the fleet (default: host name and listen port). */
  readonly instance: string;
  /** TLS to etcd: the CA's PEM, and a client certificate and key (PEM) when etcd asks for one. */
  readonly tls: { readonly ca: string; readonly cert: string | null; readonly key: string | null } | null;
  readonly user: string | null;
  readonly password: string | null;
  /** How long a fleet-wide DRAIN/UNDRAIN waits for every live instance to apply it (default 5 s). */
  readonly ackTimeoutMs: number;
  /** Bound of every etcd call (default 1 s). */
  readonly callTimeoutMs: number;
  /** The registration lease's TTL: a dead instance leaves the fleet this long after its last keep-alive (default 10 s). */
  readonly leaseTtlMs: number;
  /** How often the instance reads the fleet's drains (default 250 ms). */
  readonly syncIntervalMs: number;
}

export interface LimitsConfig {
  readonly maxFrameBytes: number; // largest typed client frame accepted after login; default 64 MiB
  /** Bytes one request may hold in Meridian before it has a backend (frames count ≥ 64 bytes each); default 64 MiB. */
  readonly maxRequestBytes: number;
  readonly maxPreparedStatements: number; // named prepared statements per session (protocol + SQL level); default 10 000
  readonly maxSessionSettings: number; // tracked SET values per session; default 1 000
  /** Statements longer than this are classified without PostgreSQL's parser (as writes); default 1 MiB. */
  readonly maxParseBytes: number;
  readonly authTimeoutMs: number; // accept → login complete (TLS handshake included); default 10 s
  readonly maxPendingLogins: number; // connections not logged in yet; beyond: refused at accept; default 200
  readonly adminReservedConnections: number; // of pool.max_clients, only admin-console logins; default 3
  readonly idleTransactionTimeoutMs: number; // idle in a transaction this long: 25P03, closed; 0 = off
  readonly clientIdleTimeoutMs: number; // idle outside a transaction this long: 57P05, closed; 0 = off
}

export interface MeridianConfig {
  /** Processes accepting on the listen port (1: no fork); `auto` is resolved to the number of cores. */
  readonly workers: number;
  readonly listen: ListenConfig;
  readonly tls: TlsConfig | null;
  readonly region: string | null;
  readonly location: Location | null;
  readonly pool: PoolConfig;
  readonly users: readonly UserConfig[];
  readonly auth: AuthConfig;
  readonly cluster: ClusterConfig;
  readonly health: HealthConfig;
  readonly routing: RoutingConfig;
  readonly residency: ResidencyConfig;
  readonly drain: DrainConfig;
  readonly shutdown: ShutdownConfig;
  readonly tracing: TracingConfig;
  readonly admin: AdminConfig;
  /** Null: a single instance, no etcd. */
  readonly fleet: FleetConfig | null;
  readonly log: { readonly level: LogLevel };
  readonly limits: LimitsConfig;
}
