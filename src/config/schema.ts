// The YAML schema (zod): snake_case keys in, camelCase out, unknown keys rejected everywhere,
// per-key defaults applied. Defaults that depend on other keys (health.user, reads_on_masters,
// backend_user …), secret files and cross-key checks are resolve-config.ts's job, so fields that
// need them come out as null here. Must not do IO.
import * as z from 'zod';
import { CLUSTER_KIND_NAMES } from '../cluster/kinds/names.js';
import { parseCidr } from './cidr.js';
import {
  bool, byteSize, duration, DURATION_TEXT, enumText, field, int, INVALID, list, num, oneOf, optional,
  optionalList, optionalSection, required, requiredSection, section, str, stringList, type Parser,
} from './schema-fields.js';
import type { AuthMethod, BackendAuthMethod, BackendTlsMode, ClusterKind, LogLevel, PoolMode, ReadsOnMasters } from './types.js';

const POOL_MODES: readonly PoolMode[] = ['transaction', 'session'];
const AUTH_METHODS: readonly AuthMethod[] = ['scram-sha-256', 'md5', 'password', 'trust'];
const CLUSTER_KINDS: readonly ClusterKind[] = CLUSTER_KIND_NAMES;
const READS_ON_MASTERS: readonly ReadsOnMasters[] = ['always', 'fallback', 'never'];
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const BACKEND_TLS: readonly BackendTlsMode[] = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'];
const BACKEND_AUTH: readonly BackendAuthMethod[] = ['scram-sha-256', 'md5', 'password', 'insecure-password', 'trust'];

/** Node names appear in hints (node=NAME), admin commands and metric labels: keep them plain. */
export const NODE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/;
/** The heartbeat table is interpolated into SQL, so only a (schema-qualified) plain identifier. */
const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/;

const MAX_MS = 7 * 24 * 3_600_000;
const durationField = (fallbackMs: number, minMs = 0) => field(DURATION_TEXT, (v) => {
  const ms = duration(minMs)(v);
  return ms !== INVALID && ms <= MAX_MS ? ms : INVALID;
}, fallbackMs);
const intField = (min: number, max: number, fallback: number) => field(`an integer from ${min} to ${max}`, int(min, max), fallback);
const enumField = <const T extends string>(values: readonly T[], fallback: T) => field(enumText(values), oneOf(values), fallback);
const text = (what: string) => required(what, str());
const optionalText = (what: string) => optional(what, str());
const secret = () => optional('a non-empty string', str(), true);

const location = optionalSection({
  lat: required('a latitude from -90 to 90', num(-90, 90)),
  lon: required('a longitude from -180 to 180', num(-180, 180)),
});

/** `workers`: a count, or `auto` (resolved to the number of cores in resolve-config.ts). */
const workersParser: Parser<number | 'auto'> = (v) => (v === 'auto' ? 'auto' : int(1, 1024)(v));

const listen = section({
  host: field('a host name or address', str(), '127.0.0.1'),
  port: intField(0, 65535, 6432),
});

const tls = optionalSection({
  cert: text('a path to a PEM certificate'),
  key: text('a path to a PEM private key'),
  mode: enumField(['allow', 'require'] as const, 'allow'),
});

const pool = section({
  mode: enumField(POOL_MODES, 'transaction'),
  size: intField(1, 100_000, 20),
  min_idle: intField(0, 100_000, 0),
  idle_timeout: durationField(60_000),
  max_lifetime: durationField(3_600_000),
  queue_timeout: durationField(5_000),
  connect_timeout: durationField(5_000, 1),
  max_clients: intField(1, 1_000_000, 1000),
  prepared_statements_per_backend: intField(0, 1_000_000, 500),
  reset_query: optionalText('an SQL statement, e.g. DISCARD ALL'),
  max_pools: intField(1, 1_000_000, 5000),
  session_reuse: field('true or false', bool, true),
}).transform((p) => ({
  mode: p.mode, size: p.size, minIdle: p.min_idle, idleTimeoutMs: p.idle_timeout, maxLifetimeMs: p.max_lifetime,
  queueTimeoutMs: p.queue_timeout, connectTimeoutMs: p.connect_timeout, maxClients: p.max_clients,
  preparedStatementsPerBackend: p.prepared_statements_per_backend,
  resetQuery: p.reset_query === null || p.reset_query === undefined || p.reset_query.trim() === '' ? null : p.reset_query,
  maxPools: p.max_pools,
  sessionReuse: p.session_reuse,
}));

const user = section({
  name: text('a user name'),
  password: secret(),
  password_file: optionalText('a file path'),
  auth: enumField(AUTH_METHODS, 'scram-sha-256'),
  backend_user: optionalText('a user name'),
  backend_password: secret(),
  backend_password_file: optionalText('a file path'),
  max_connections: optional('an integer from 0 to 1000000', int(0, 1_000_000)),
  tenants: optionalList(required('a tenant name (a non-empty string)', str())),
});

const node = section({
  name: required('a node name: letters, digits, "_" or "-", at most 63, not starting with "-"', str(NODE_NAME)),
  host: text('a host name or address'),
  port: intField(1, 65535, 5432),
  region: text('a region name'),
  location,
  priority: intField(-1_000_000, 1_000_000, 0),
});

/** A Patroni REST API address: http(s)://host:port with no path, query or credentials. */
const PATRONI_URL = /^https?:\/\/[A-Za-z0-9._\-[\]:]+\/?$/;

const patroni = optionalSection({
  urls: list(required('a Patroni REST API URL such as http://10.0.0.1:8008', str(PATRONI_URL)), 1, 'URL'),
  interval: durationField(1000, 50),
  timeout: durationField(1000, 10),
  switchover_timeout: durationField(30_000, 100),
}).transform((p) =>
  p === null ? null : { urls: p.urls.map((u) => u.replace(/\/$/, '')), intervalMs: p.interval, timeoutMs: p.timeout, switchoverTimeoutMs: p.switchover_timeout },
);

const cluster = requiredSection({
  kind: required(enumText(CLUSTER_KINDS), oneOf(CLUSTER_KINDS)),
  nodes: list(node, 1, 'node'),
  patroni,
  tls: enumField(BACKEND_TLS, 'disable'),
  tls_ca: optional('a path to a PEM CA certificate', str()),
  auth_methods: list(required(enumText(BACKEND_AUTH), oneOf(BACKEND_AUTH)), 0, 'method'),
});

const auth = section({
  mock_key: secret(),
  mock_key_file: optionalText('a file path'),
  failure_delay: durationField(0),
  query: optionalText('an SQL query with one parameter $1 (the user name) returning (user name, secret)'),
  user: optionalText('a user name'),
  password: secret(),
  password_file: optionalText('a file path'),
  database: field('a database name', str(), 'postgres'),
  cache_ttl: durationField(60_000),
  max_lookups: intField(1, 1000, 8),
});

const health = section({
  interval: durationField(1000, 10),
  timeout: durationField(1000, 1),
  rise: intField(1, 100, 2),
  fall: intField(1, 100, 2),
  fast_interval: durationField(250, 10),
  jitter: field('a fraction from 0 to 1', num(0, 1), 0.1),
  user: optionalText('a user name'),
  password: secret(),
  password_file: optionalText('a file path'),
  database: field('a database name', str(), 'postgres'),
  heartbeat_table: field('a lower-case table name, optionally schema-qualified', str(SQL_IDENTIFIER), 'meridian_heartbeat'),
});

const routing = section({
  write_wait: durationField(2000),
  max_read_lag: durationField(5000),
  lag_tolerance: durationField(100),
  reads_on_masters: optional(enumText(READS_ON_MASTERS), oneOf(READS_ON_MASTERS)),
  readmit_max_lag: durationField(1000),
  write_functions: stringList('function name'),
  read_functions: stringList('function name'),
  catalog_refresh: durationField(60_000, 1000),
  retry_reads: field('true or false', bool, true),
  read_your_writes: field('true or false', bool, false),
  causal_wait: durationField(2000),
  trust_sync_standbys: field('true or false', bool, true),
  report_causal_token: field('true or false', bool, false),
  retry_refused_writes: field('true or false', bool, true),
  defer_begin: field('true or false', bool, true),
  transaction_replay: field('true or false', bool, false),
  transaction_replay_max_bytes: field('a size from 1kB to 1GB such as 1MB (or a number of bytes)', byteSize(1024, 1024 ** 3), 1024 * 1024),
});

const cidrText = 'a CIDR such as 10.0.0.0/8, 2001:db8::/32 or a single address';
const residencyRule = section({
  // "+" joins the names of the rules a session matches (errors, metrics, SHOW SESSIONS).
  name: required('a rule name without "+"', str(/^[^+]+$/)),
  match: section({
    user: optionalText('a user name'),
    database: optionalText('a database name'),
    application_name: optionalText('an application_name'),
    tenant: optionalText('a tenant name (startup option meridian.tenant)'),
    cidr: optional(cidrText, (v) => (typeof v === 'string' && parseCidr(v) !== null ? v.trim() : INVALID)),
  }).transform((m) => ({ user: m.user, database: m.database, applicationName: m.application_name, tenant: m.tenant, cidr: m.cidr })),
  regions: list(text('a region name'), 1, 'region'),
});

const residencySection = section({
  require_match: field('true or false', bool, false),
  bind_tenants: optional('true or false', bool),
  rules: list(residencyRule, 0, 'rule'),
});

/**
 * `residency` is either the list of rules (the original shape, every option at its default) or
 * a mapping { require_match, bind_tenants, rules }. Issues keep the path of the shape written.
 */
const residency = z.unknown().optional().transform((value, ctx) => {
  const isListForm = value === undefined || value === null || Array.isArray(value);
  const r = residencySection.safeParse(isListForm ? { rules: value } : value);
  if (!r.success) {
    for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: isListForm ? issue.path.slice(1) : issue.path } as z.core.$ZodRawIssue);
    return z.NEVER;
  }
  return { ...r.data, isListForm };
});

const drain = section({
  timeout: durationField(30_000),
  on_timeout: enumField(['cancel', 'leave'] as const, 'cancel'),
}).transform((d) => ({ timeoutMs: d.timeout, onTimeout: d.on_timeout }));

const tracing = section({
  enabled: field('true or false', bool, false),
  otlp_endpoint: optional('an http(s) URL such as http://127.0.0.1:4318/v1/traces', str()),
  sample_ratio: field('a number from 0 to 1', num(0, 1), 1),
  service_name: field('a name', str(), 'meridian'),
}).transform((t) => ({ enabled: t.enabled, otlpEndpoint: t.otlp_endpoint ?? null, sampleRatio: t.sample_ratio, serviceName: t.service_name }));

const shutdown = section({
  grace: durationField(20_000),
  unready_delay: durationField(0),
}).transform((d) => ({ graceMs: d.grace, unreadyDelayMs: d.unready_delay }));

const admin = section({
  database: field('a database name', str(), 'meridian'),
  users: stringList('user name'),
  http: optionalSection({
    host: field('a host name or address', str(), '127.0.0.1'),
    port: intField(0, 65535, 9187),
    token: secret(),
    token_file: optionalText('a file path'),
    allowed_hosts: stringList('host name'),
  }),
});

/** An etcd endpoint: http(s)://host:port. */
const ETCD_URL = /^https?:\/\/[^\s/]+(:\d{1,5})?\/?$/;
/** Instance names and the key prefix's segments end up in etcd keys and SHOW FLEET: keep them plain. */
const INSTANCE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}$/;

const fleet = optionalSection({
  endpoints: list(required('an etcd URL such as http://127.0.0.1:2379', str(ETCD_URL)), 1, 'endpoint'),
  prefix: field('a key prefix such as /meridian/prod (letters, digits, "_", "-", ".", "/")', str(/^\/?[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/), '/meridian'),
  instance: optional('an instance name: letters, digits, "_", ".", ":" or "-", at most 100', str(INSTANCE_NAME)),
  tls: optionalSection({
    ca: text('a path to a PEM CA certificate'),
    cert: optionalText('a path to a PEM client certificate'),
    key: optionalText('a path to a PEM private key'),
  }),
  user: optionalText('an etcd user name'),
  password: secret(),
  password_file: optionalText('a file path'),
  ack_timeout: durationField(5_000, 100),
  call_timeout: durationField(1_000, 50),
  lease_ttl: durationField(10_000, 2_000),
  sync_interval: durationField(250, 20),
});

const log = section({ level: enumField(LOG_LEVELS, 'info') });

const limits = section({
  max_frame_bytes: field('a size from 1kB to 1GB such as 64MB (or a number of bytes)', byteSize(1024, 1024 ** 3), 64 * 1024 * 1024),
  max_request_bytes: field('a size from 64kB to 4GB such as 64MB (or a number of bytes)', byteSize(64 * 1024, 4 * 1024 ** 3), 64 * 1024 * 1024),
  max_prepared_statements: field('an integer from 1 to 1000000', int(1, 1_000_000), 10_000),
  max_session_settings: field('an integer from 1 to 100000', int(1, 100_000), 1_000),
  max_parse_bytes: field('a size from 1kB to 1GB such as 1MB (or a number of bytes)', byteSize(1024, 1024 ** 3), 1024 * 1024),
  auth_timeout: durationField(10_000, 100),
  max_pending_logins: intField(1, 1_000_000, 200),
  admin_reserved_connections: intField(0, 1000, 3),
  idle_transaction_timeout: durationField(0),
  client_idle_timeout: durationField(0),
}).transform((l) => ({
  maxFrameBytes: l.max_frame_bytes,
  maxRequestBytes: l.max_request_bytes,
  maxPreparedStatements: l.max_prepared_statements,
  maxSessionSettings: l.max_session_settings,
  maxParseBytes: l.max_parse_bytes,
  authTimeoutMs: l.auth_timeout, maxPendingLogins: l.max_pending_logins,
  adminReservedConnections: l.admin_reserved_connections, idleTransactionTimeoutMs: l.idle_transaction_timeout,
  clientIdleTimeoutMs: l.client_idle_timeout,
}));

/** The whole file. An empty document is an empty mapping (and then fails on users/cluster). */
export const configSchema = section({
  workers: field('an integer from 1 to 1024, or auto', workersParser, 1 as number | 'auto'),
  listen,
  tls,
  region: optionalText('a region name'),
  location,
  pool,
  users: list(user, 1, 'user'),
  auth,
  cluster,
  health,
  routing,
  residency,
  drain,
  shutdown,
  tracing,
  admin,
  fleet,
  log,
  limits,
});

/** The schema's output: validated per key, not yet cross-checked or resolved. */
export type ParsedConfig = z.output<typeof configSchema>;
