// The one table of settings (PgBouncer style): YAML key, type, default, whether a reload can
// apply it, and what it does. Used for README docs, "did you mean" hints on unknown keys, and
// reload-diff.ts's list of restart-only settings. Keep it in step with schema.ts (a unit test
// checks that the documented example uses only keys listed here).

import { CLUSTER_KIND_NAMES } from '../cluster/kinds/names.js';

export type Reload = 'runtime' | 'restart';

export interface Setting {
  readonly key: string; // "cluster.nodes[].port": [] marks a list item
  readonly type: string;
  readonly default: string;
  readonly reload: Reload;
  readonly doc: string;
}

const s = (key: string, type: string, dflt: string, reload: Reload, doc: string): Setting => ({ key, type, default: dflt, reload, doc });
const DUR = 'duration';

export const SETTINGS: readonly Setting[] = Object.freeze([
  s('workers', 'int 1–1024 | auto', '1', 'restart', 'processes accepting on the listen port, each with its own pools (auto: one per core); health probes run once, in the primary process'),
  s('listen.host', 'string', '127.0.0.1', 'restart', 'address clients connect to (0.0.0.0 for all)'),
  s('listen.port', 'int 0–65535', '6432', 'restart', 'port clients connect to (0: any free port)'),
  s('tls', 'mapping', 'none (no TLS)', 'restart', 'TLS for clients'),
  s('tls.cert', 'path', 'required', 'restart', 'PEM certificate (relative to the config file)'),
  s('tls.key', 'path', 'required', 'restart', 'PEM private key'),
  s('tls.mode', 'allow | require', 'allow', 'restart', 'require: refuse clients without TLS'),
  s('region', 'string', 'none', 'runtime', 'region this proxy runs in'),
  s('location.lat', 'number', 'none', 'runtime', 'proxy latitude (distance fallback before RTT is known)'),
  s('location.lon', 'number', 'none', 'runtime', 'proxy longitude'),
  s('pool.mode', 'transaction | session', 'transaction', 'restart', 'when a backend returns to the pool'),
  s('pool.size', 'int ≥ 1', '20', 'runtime', 'max backends per (node, user, database)'),
  s('pool.min_idle', 'int ≥ 0', '0', 'runtime', 'idle backends kept open per pool, topped up once a second (a pool exists from the first client of its user and database)'),
  s('pool.idle_timeout', DUR, '60s', 'runtime', 'close a backend idle this long'),
  s('pool.max_lifetime', DUR, '1h', 'runtime', 'close a backend this old (when idle)'),
  s('pool.queue_timeout', DUR, '5s', 'runtime', 'how long a session waits for a backend'),
  s('pool.connect_timeout', DUR, '5s', 'runtime', 'TCP + auth timeout to a node'),
  s('pool.max_clients', 'int ≥ 1', '1000', 'runtime', 'logged-in client sessions, admin console included (counted from the moment login succeeds); beyond: 53300 at login. Connections still logging in are capped by limits.max_pending_logins, so Meridian holds at most max_clients + max_pending_logins client sockets'),
  s('pool.prepared_statements_per_backend', 'int ≥ 0', '500', 'runtime', 'LRU limit of prepared statements per backend'),
  s('pool.session_reuse', 'bool', 'true', 'runtime', 'session pooling: a backend serves the next client after its reset (true), or each client gets a new server session (false)'),
  s('pool.reset_query', 'SQL', 'none (session pooling: DISCARD ALL)', 'runtime', 'run on a backend when it changes hands between sessions (transaction pooling; off when unset) or when its session ends (session pooling; DISCARD ALL when unset)'),
  s('pool.max_pools', 'int ≥ 1', '5000', 'runtime', '(node, user, database) pools; beyond: 53300'),
  s('users[].name', 'string', 'required', 'runtime', 'user name clients log in with'),
  s('users[].password', 'string', 'required unless trust', 'runtime', 'client password (use "${VAR}") or a stored SCRAM secret SCRAM-SHA-256$…'),
  s('users[].password_file', 'path', 'none', 'runtime', 'read the password from a file instead'),
  s('users[].auth', 'scram-sha-256 | md5 | password | trust', 'scram-sha-256', 'runtime', 'client authentication'),
  s('users[].backend_user', 'string', 'name', 'runtime', 'user Meridian logs in to the nodes as'),
  s('users[].backend_password', 'string', 'password', 'runtime', 'password to the nodes (none with a stored SCRAM secret: pass-through)'),
  s('users[].backend_password_file', 'path', 'none', 'runtime', 'backend password from a file'),
  s('users[].max_connections', 'int ≥ 0', 'none (no limit)', 'runtime', "this user's client sessions at once (admin console sessions not counted); beyond: 53300 at login"),
  s('users[].tenants', 'list of tenant names', 'none', 'runtime', 'tenants the user may claim with -c meridian.tenant=…; another claim is refused at login (28000)'),
  s('auth.mock_key', 'string', 'none (random per process)', 'runtime', 'key the SCRAM salts of configured and unknown users derive from'),
  s('auth.mock_key_file', 'path', 'none', 'runtime', 'mock key from a file'),
  s('auth.failure_delay', DUR, '0', 'runtime', 'delay before answering a failed login'),
  s('auth.query', 'SQL with $1', 'none (off)', 'runtime', "look up unknown users' secrets on a node (auth_query)"),
  s('auth.user', 'string', 'required with auth.query', 'runtime', 'role the lookup runs as'),
  s('auth.password', 'string', 'none', 'runtime', 'its password'),
  s('auth.password_file', 'path', 'none', 'runtime', 'its password from a file'),
  s('auth.database', 'string', 'postgres', 'runtime', 'database the lookup connects to'),
  s('auth.cache_ttl', DUR, '60s', 'runtime', 'how long a looked-up secret is reused'),
  s('auth.max_lookups', 'int 1–1000', '8', 'runtime', 'lookups running at once'),
  s('cluster.kind', CLUSTER_KIND_NAMES.join(' | '), 'required', 'restart', 'replication type: master detection and lag source'),
  s('cluster.tls', 'disable | prefer | require | verify-ca | verify-full', 'disable', 'runtime', 'TLS from Meridian to the nodes (as libpq sslmode: only verify-* check the certificate)'),
  s('cluster.auth_methods', 'list of scram-sha-256 | md5 | password | insecure-password | trust', 'scram-sha-256, md5, password, trust', 'runtime', 'what a node may ask for (password: cleartext over TLS only)'),
  s('cluster.tls_ca', 'path', 'required with verify-*', 'runtime', 'PEM CA certificate(s) trusted for verify-ca / verify-full (relative to the config file)'),
  s('cluster.nodes[].name', 'string [A-Za-z0-9_-]', 'required', 'runtime', 'node name (hints, admin, metrics)'),
  s('cluster.nodes[].host', 'string', 'required', 'runtime', 'host name or address'),
  s('cluster.nodes[].port', 'int 1–65535', '5432', 'runtime', 'port'),
  s('cluster.nodes[].region', 'string', 'required', 'runtime', 'region (residency, proximity)'),
  s('cluster.nodes[].location.lat', 'number', 'none', 'runtime', 'node latitude'),
  s('cluster.nodes[].location.lon', 'number', 'none', 'runtime', 'node longitude'),
  s('cluster.nodes[].priority', 'int', '0', 'runtime', 'higher wins writes on split-brain'),
  s('cluster.patroni', 'mapping', 'none (roles from probes)', 'runtime', 'physical kind: Patroni as the topology source (roles, lag, switchovers from GET /cluster); probes still check reachability'),
  s('cluster.patroni.urls', 'list of http(s)://host:port', 'required', 'runtime', "Patroni REST API addresses (any members'); tried in turn, the last one that answered first"),
  s('cluster.patroni.interval', DUR, '1s', 'runtime', 'how often GET /cluster is read (4× as often while a switchover is under way)'),
  s('cluster.patroni.timeout', DUR, '1s', 'runtime', 'deadline of one Patroni request (a hanging API: the next URL is tried)'),
  s('cluster.patroni.switchover_timeout', DUR, '30s', 'runtime', 'SWITCHOVER TO: how long in-flight writes on the old primary may take, and then the promotion; also the longest a switchover Patroni reports holds writes'),
  s('health.interval', DUR, '1s', 'runtime', 'probe interval (jittered)'),
  s('health.timeout', DUR, '1s', 'runtime', 'probe timeout'),
  s('health.rise', 'int ≥ 1', '2', 'runtime', 'good probes to readmit'),
  s('health.fall', 'int ≥ 1', '2', 'runtime', 'failed probes to evict'),
  s('health.fast_interval', DUR, '250ms', 'runtime', 'probe interval while a node changes state'),
  s('health.jitter', 'number 0–1', '0.1', 'runtime', 'fraction of the interval'),
  s('health.user', 'string', "first user's backend_user", 'runtime', 'probe user'),
  s('health.password', 'string', "that user's backend password", 'runtime', 'probe password'),
  s('health.password_file', 'path', 'none', 'runtime', 'probe password from a file'),
  s('health.database', 'string', 'postgres', 'runtime', 'database probes (and the heartbeat table) use'),
  s('health.heartbeat_table', 'identifier', 'meridian_heartbeat', 'runtime', 'heartbeat table, optionally schema-qualified'),
  s('routing.write_wait', DUR, '2s', 'runtime', 'wait this long for a master before 57P03'),
  s('routing.max_read_lag', DUR, '5s', 'runtime', 'nodes lagging more serve no reads'),
  s('routing.lag_tolerance', DUR, '100ms', 'runtime', 'lags this close to the best count as equal'),
  s('routing.reads_on_masters', 'always | fallback | never', 'fallback (physical), always (others)', 'runtime', 'whether masters serve reads'),
  s('routing.readmit_max_lag', DUR, '1s', 'runtime', 'UNDRAIN readmits a node below this lag'),
  s('routing.write_functions', 'list of names', '[]', 'runtime', 'functions always routed as writes'),
  s('routing.read_functions', 'list of names', '[]', 'runtime', 'functions always routed as reads'),
  s('routing.catalog_refresh', DUR, '60s', 'runtime', 'how often function volatility is re-read'),
  s('routing.retry_reads', 'bool', 'true', 'runtime', 'retry an autocommit read that got nothing yet, once: on another node when its backend was lost (not when the client pipelined more requests behind it: those get 08006), on a master when a hot standby refused it'),
  s('routing.read_your_writes', 'bool', 'false', 'runtime', "a session's reads after its write go only to nodes that replayed it (or the node that took it); per session: -c meridian.read_your_writes=on|off or SET meridian.read_your_writes"),
  s('routing.trust_sync_standbys', 'bool', 'true', 'runtime', "read-your-writes: a standby the primary waits for before acknowledging a commit (synchronous_commit = remote_apply on the primary, the standby in sync state in pg_stat_replication; the probe user needs pg_read_all_stats to see it) has the session's write at once, unless the session set synchronous_commit lower; a SET LOCAL or a role default that lowers it is invisible to Meridian: turn this off if your application does that"),
  s('routing.causal_wait', DUR, '2s', 'runtime', "a read bound by a causal token (SET meridian.causal_token, -c meridian.causal_token) whose write no node that can serve it is known to have (its node down or draining, no other caught up) waits this long, then 57M02"),
  s('routing.report_causal_token', 'bool', 'false', 'runtime', "after each committed write, send the client its causal token as ParameterStatus meridian.causal_token (SHOW meridian.causal_token works either way)"),
  s('routing.retry_refused_writes', 'bool', 'true', 'runtime', 'a node refused an autocommit INSERT/UPDATE/DELETE/MERGE/COPY FROM as read-only (25006) before running it: re-probe it and send the statement once more, to the master routing then picks (one statement per request, nothing pipelined behind it)'),
  s('routing.defer_begin', 'bool', 'true', 'runtime', "a BEGIN / START TRANSACTION sent alone is answered by Meridian, and the transaction takes a backend only with its first statement (BEGIN is sent just before it): a backend is not held while the client prepares that statement. The transaction's start time (now(), xact_start) is then its first statement's"),
  s('routing.transaction_replay', 'bool', 'false', 'runtime', "transaction pooling: a transaction whose backend is lost before its COMMIT was sent (node stopped, hung, shut down, switched over) is replayed on the master routing picks then: its statements again, every result compared (a digest of what the client received); identical: the transaction goes on as if nothing happened; different, or replay off: 08006 and it is rolled back. A COMMIT in flight is never replayed (08007)"),
  s('routing.transaction_replay_max_bytes', 'size', '1MB', 'runtime', 'what one transaction may send (its statements are kept until it ends) before replay is off for it'),
  s('residency', 'list of rules, or mapping', '[]', 'runtime', 'a list of rules, or { require_match, bind_tenants, rules }'),
  s('residency.require_match', 'bool', 'false', 'runtime', 'refuse at login (57M01) a session no rule matches'),
  s('residency.bind_tenants', 'bool', 'true if any users[].tenants', 'runtime', 'a user without users[].tenants may claim no tenant'),
  s('residency.rules[].name', 'string without "+"', 'required', 'runtime', 'rule name (errors, metrics)'),
  s('residency.rules[].match.user', 'string', 'any', 'runtime', 'session user'),
  s('residency.rules[].match.database', 'string', 'any', 'runtime', 'session database'),
  s('residency.rules[].match.application_name', 'string', 'any', 'runtime', 'application_name startup parameter'),
  s('residency.rules[].match.tenant', 'string', 'any', 'runtime', 'startup option -c meridian.tenant=…'),
  s('residency.rules[].match.cidr', 'CIDR (v4/v6)', 'any', 'runtime', 'client address block'),
  s('residency.rules[].regions', 'list of regions', 'required', 'runtime', 'regions the session may use (all matching rules apply)'),
  s('residency[].name', 'string', 'required', 'runtime', 'rule name (errors, metrics)'),
  s('residency[].match.user', 'string', 'any', 'runtime', 'session user'),
  s('residency[].match.database', 'string', 'any', 'runtime', 'session database'),
  s('residency[].match.application_name', 'string', 'any', 'runtime', 'application_name startup parameter'),
  s('residency[].match.tenant', 'string', 'any', 'runtime', 'startup option -c meridian.tenant=…'),
  s('residency[].match.cidr', 'CIDR (v4/v6)', 'any', 'runtime', 'client address block'),
  s('residency[].regions', 'list of regions', 'required', 'runtime', 'regions the session may use (list form: as residency.rules[])'),
  s('drain.timeout', DUR, '30s', 'runtime', 'how long DRAIN waits for transactions'),
  s('tracing.enabled', 'bool', 'false', 'restart', 'OpenTelemetry spans per request: meridian.request with classify, route (node and reason, as EXPLAIN ROUTE words them), pool.wait and server'),
  s('tracing.otlp_endpoint', 'URL', 'none', 'restart', 'where spans go over OTLP/HTTP (e.g. http://collector:4318/v1/traces); none: made and dropped'),
  s('tracing.sample_ratio', 'number 0..1', '1', 'restart', 'fraction of requests traced'),
  s('tracing.service_name', 'string', 'meridian', 'restart', 'service.name of the spans'),
  s('shutdown.grace', DUR, '20s', 'runtime', 'SIGTERM, SIGINT or SHUTDOWN: transactions in progress get this long to finish (each session closes as its transaction ends), then every session closes (57P01)'),
  s('shutdown.unready_delay', DUR, '0s', 'runtime', 'SIGTERM, SIGINT or SHUTDOWN: /readyz answers 503 this long before new connections are refused (clients are served as usual meanwhile): time for a load balancer to stop sending new ones'),
  s('drain.on_timeout', 'cancel | leave', 'cancel', 'runtime', 'what happens to transactions still running'),
  s('admin.database', 'string', 'meridian', 'runtime', 'database name of the admin console'),
  s('admin.users', 'list of user names', '[]', 'runtime', 'users allowed on the admin console'),
  s('admin.http', 'mapping', 'none (off)', 'restart', 'HTTP API: metrics, health, nodes, drain, the operator page (/ui)'),
  s('admin.http.host', 'string', '127.0.0.1', 'restart', 'HTTP listen address'),
  s('admin.http.port', 'int 0–65535', '9187', 'restart', 'HTTP listen port'),
  s('admin.http.token', 'string', 'none (401)', 'restart', 'bearer token for protected endpoints'),
  s('admin.http.token_file', 'path', 'none', 'restart', 'token from a file'),
  s('admin.http.allowed_hosts', 'list of host names', '[] (loopback names and host only)', 'restart', 'Host header names accepted besides localhost, 127.0.0.1, [::1] and admin.http.host (others: 421)'),
  s('fleet', 'mapping', 'none (a single instance)', 'restart', 'several Meridian instances sharing membership and DRAIN/UNDRAIN through etcd (needs workers: 1)'),
  s('fleet.endpoints', 'list of URLs', 'required', 'restart', 'etcd client URLs, e.g. [http://10.0.0.5:2379]; https:// with fleet.tls'),
  s('fleet.prefix', 'string', '/meridian', 'restart', 'every key the fleet writes lives under it (one prefix per fleet)'),
  s('fleet.instance', 'string', 'host name:listen port', 'restart', "this instance's name in SHOW FLEET and etcd keys (with listen.port 0: host name:pid<process id>); unique in the fleet"),
  s('fleet.tls.ca', 'path', 'required with fleet.tls', 'restart', "PEM CA that signed etcd's certificate"),
  s('fleet.tls.cert', 'path', 'none', 'restart', 'PEM client certificate, when etcd asks for one (with fleet.tls.key)'),
  s('fleet.tls.key', 'path', 'none', 'restart', 'PEM private key of fleet.tls.cert'),
  s('fleet.user', 'string', 'none', 'restart', 'etcd user (etcd authentication), with fleet.password'),
  s('fleet.password', 'string', 'none', 'restart', 'etcd password; from the environment ("${ETCD_PASSWORD}") or fleet.password_file'),
  s('fleet.password_file', 'path', 'none', 'restart', 'etcd password from a file'),
  s('fleet.ack_timeout', DUR, '5s', 'restart', 'a fleet-wide DRAIN/UNDRAIN waits this long for every live instance to apply it, then fails (55000) naming those that did not'),
  s('fleet.call_timeout', DUR, '1s', 'restart', 'bound of every etcd call; a call that fails or times out makes the instance stale'),
  s('fleet.lease_ttl', DUR, '10s', 'restart', "an instance that stops renewing its registration leaves SHOW FLEET this long after its last renewal (renewed every third of it)"),
  s('fleet.sync_interval', DUR, '250ms', 'restart', "how often each instance reads the fleet's drains and applies new ones"),
  s('log.level', 'trace | debug | info | warn | error | fatal | silent', 'info', 'runtime', 'log level'),
  s('limits.max_frame_bytes', 'size', '64MB', 'runtime', 'largest client message accepted after login (8kB before)'),
  s('limits.max_request_bytes', 'size', '64MB', 'runtime', 'what one request may hold before it has a backend'),
  s('limits.max_prepared_statements', 'int ≥ 1', '10000', 'runtime', 'named prepared statements per session'),
  s('limits.max_session_settings', 'int ≥ 1', '1000', 'runtime', 'tracked SET values per session'),
  s('limits.max_parse_bytes', 'size', '1MB', 'runtime', 'longer statements are classified as writes without the parser'),
  s('limits.auth_timeout', DUR, '10s', 'runtime', 'a connection that has not logged in this long after accept (TLS handshake, startup packet, authentication, first backend) gets 08P01 and is closed'),
  s('limits.max_pending_logins', 'int ≥ 1', '200', 'runtime', 'connections not logged in yet (cancel requests included); beyond: new connections get 53300 at once, before anything is read'),
  s('limits.admin_reserved_connections', 'int ≥ 0', '3', 'runtime', 'of pool.max_clients, slots only admin-console logins may take; must be below max_clients'),
  s('limits.idle_transaction_timeout', DUR, '0 (off)', 'runtime', 'a session idle inside a transaction (a BEGIN Meridian answered included) this long gets 25P03 and is closed; its backend is closed, not pooled'),
  s('limits.client_idle_timeout', DUR, '0 (off)', 'runtime', 'a session idle outside a transaction this long gets 57P05 and is closed (admin console included)'),
]);

/** Top-level-or-nested key prefixes a reload cannot apply (the process must restart). */
export const RESTART_KEYS: readonly string[] = Object.freeze(['workers', 'listen', 'tls', 'pool.mode', 'cluster.kind', 'admin.http', 'fleet']);

/** camelCase TS field → snake_case YAML key ("idleTimeoutMs" → "idle_timeout"). */
export function yamlKeyOf(field: string): string {
  return field.replace(/Ms$/, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** True when a changed YAML key path can only take effect after a restart. */
export function isRestartOnly(path: string): boolean {
  return RESTART_KEYS.some((k) => path === k || path.startsWith(`${k}.`) || path.startsWith(`${k}[`));
}

/** Sibling keys of a (normalised, "[]"-for-index) parent path, for "did you mean" hints. */
export function keysUnder(parent: string): string[] {
  const prefix = parent === '' ? '' : `${parent}.`;
  const out = new Set<string>();
  for (const { key } of SETTINGS) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const first = /^[a-z_]+/.exec(rest)?.[0];
    if (first !== undefined) out.add(first);
  }
  return [...out];
}

/** Markdown table of every setting, for the README. */
export function formatSettingsMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|'); // "a | b" enums must not split the row
  const rows = SETTINGS.map((x) => `| \`${x.key}\` | ${cell(x.type)} | ${cell(x.default)} | ${x.reload} | ${cell(x.doc)} |`);
  return ['| key | type | default | reload | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
