// Second pass over a schema-valid config: secrets from files, defaults that depend on other
// keys, and checks that span keys (unique names, admin users exist, residency regions exist). Returns issues with YAML key paths; the loader adds line numbers.
// The only IO is reading secret files, through the injected reader.
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { availableParallelism, hostname } from 'node:os';
import { isPlaceholderSecret } from './placeholder-secrets.js';
import type { ConfigPath, PathIssue } from './env-substitute.js';
import type { ParsedConfig } from './schema.js';
import { looksLikeStoredSecret, parseStoredSecret } from '../auth/scram.js';
import { kindPlugin } from '../cluster/kinds/index.js';
import type { AuthConfig, BackendAuthMethod, FleetConfig, MeridianConfig, ResidencyConfig, ResidencyRule, UserConfig } from './types.js';

export interface ResolveContext {
  /** Relative paths (tls files, *_file secrets) are taken from here: the config file's directory. */
  readonly baseDir: string;
  /** Reads a secret file (absolute path); throws on failure. */
  readonly readFile: (path: string) => string;
}

type Issues = PathIssue[];

/** One of `inline` / `file` may be set; a file's single trailing newline is dropped. */
function secretFrom(inline: string | null, file: string | null, at: ConfigPath, fileKey: string, inlineKey: string, ctx: ResolveContext, issues: Issues): string | null {
  if (file === null) return inline;
  const filePath = [...at, fileKey];
  if (inline !== null) {
    issues.push({ path: filePath, message: `set either ${inlineKey} or ${fileKey}, not both` });
    return inline;
  }
  try {
    const value = ctx.readFile(resolvePath(ctx.baseDir, file)).replace(/\r?\n$/, '');
    if (value === '') issues.push({ path: filePath, message: `secret file ${file} is empty` });
    else if (isPlaceholderSecret(value)) issues.push({ path: filePath, message: `secret file ${file} holds a well-known placeholder, not a secret` });
    return value;
  } catch (err) {
    issues.push({ path: filePath, message: `cannot read secret file ${file}: ${(err as Error).message}` });
    return null;
  }
}

/** cluster.tls_ca: the CA file's PEM, read now so a missing or wrong file fails the (re)load. */
function readCa(path: string | null, mode: string, fromBase: (p: string) => string, ctx: ResolveContext, issues: Issues): string | null {
  const at: ConfigPath = ['cluster', 'tls_ca'];
  if (path === null) {
    // Node's built-in public CA list would accept any certificate a public CA issued for the name:
    // verifying a database server needs the CA that signed it, named explicitly.
    if (mode === 'verify-ca' || mode === 'verify-full') issues.push({ path: at, message: `is required with cluster.tls ${mode} (the CA that signed the nodes' certificates)` });
    return null;
  }
  if (mode !== 'verify-ca' && mode !== 'verify-full') {
    issues.push({ path: at, message: `only applies with cluster.tls verify-ca or verify-full (cluster.tls is ${mode}, which does not check certificates)` });
    return null;
  }
  try {
    const pem = ctx.readFile(fromBase(path));
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) issues.push({ path: at, message: `${path} holds no PEM certificate` });
    return pem;
  } catch (err) {
    issues.push({ path: at, message: `cannot read ${path}: ${(err as Error).message}` });
    return null;
  }
}

function checkUnique(names: readonly string[], at: (i: number) => ConfigPath, what: string, issues: Issues): void {
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const first = seen.get(name);
    if (first === undefined) seen.set(name, i);
    else issues.push({ path: at(i), message: `duplicate ${what} "${name}" (first defined at index ${first})` });
  });
}

function resolveUsers(parsed: ParsedConfig, ctx: ResolveContext, issues: Issues): UserConfig[] {
  return parsed.users.map((u, i) => {
    const at = ['users', i];
    const password = secretFrom(u.password, u.password_file, at, 'password_file', 'password', ctx, issues);
    const backendPassword = secretFrom(u.backend_password, u.backend_password_file, at, 'backend_password_file', 'backend_password', ctx, issues);
    if (password === null && u.auth !== 'trust' && u.password_file === null) {
      issues.push({ path: [...at, 'password'], message: `is required for auth ${u.auth} (only auth: trust may omit it)` });
    }
    // A stored SCRAM secret (as pg_authid keeps it) only verifies SCRAM proofs, and is no password
    // for the nodes: those logins use backend_password or SCRAM pass-through.
    const isStored = password !== null && looksLikeStoredSecret(password);
    if (isStored && parseStoredSecret(password) === null) {
      issues.push({ path: [...at, u.password_file === null ? 'password' : 'password_file'], message: 'looks like a stored SCRAM secret but is not one: expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (base64, 32-byte keys)' });
    } else if (isStored && u.auth !== 'scram-sha-256') {
      issues.push({ path: [...at, 'auth'], message: `must be scram-sha-256 when the password is a stored SCRAM secret (got ${u.auth})` });
    }
    if (backendPassword !== null && looksLikeStoredSecret(backendPassword)) {
      issues.push({ path: [...at, 'backend_password'], message: 'must be a plaintext password (a stored SCRAM secret cannot answer a node; leave backend_password out for SCRAM pass-through)' });
    }
    return {
      name: u.name, password, auth: u.auth, backendUser: u.backend_user ?? u.name, backendPassword: backendPassword ?? (isStored ? null : password),
      maxConnections: u.max_connections, tenants: u.tenants,
    };
  });
}

const DEFAULT_BACKEND_AUTH: readonly BackendAuthMethod[] = ['scram-sha-256', 'md5', 'password', 'trust'];

function resolveAuth(parsed: ParsedConfig, ctx: ResolveContext, issues: Issues): AuthConfig {
  const a = parsed.auth;
  const mockKey = secretFrom(a.mock_key, a.mock_key_file, ['auth'], 'mock_key_file', 'mock_key', ctx, issues);
  const password = secretFrom(a.password, a.password_file, ['auth'], 'password_file', 'password', ctx, issues);
  if (a.query === null) {
    for (const k of ['user', 'password', 'password_file'] as const) {
      if (a[k] !== null) issues.push({ path: ['auth', k], message: 'only applies with auth.query' });
    }
    return { mockKey, failureDelayMs: a.failure_delay, query: null };
  }
  if (!a.query.includes('$1')) issues.push({ path: ['auth', 'query'], message: 'must use $1 for the user name' });
  if (a.user === null) issues.push({ path: ['auth', 'user'], message: 'is required with auth.query (the user Meridian runs the query as)' });
  return {
    mockKey,
    failureDelayMs: a.failure_delay,
    query: { query: a.query, user: a.user ?? '', password, database: a.database, cacheTtlMs: a.cache_ttl, maxConcurrent: a.max_lookups },
  };
}

/**
 * residency: the rules, require_match, and bind_tenants (default: on once any user lists tenants).
 * Overlapping rules are fine: a session matching several may use only the regions all allow.
 */
function resolveResidency(parsed: ParsedConfig, users: readonly UserConfig[], nodeRegions: ReadonlySet<string>, issues: Issues): ResidencyConfig {
  const p = parsed.residency;
  const at = (i: number): ConfigPath => (p.isListForm ? ['residency', i] : ['residency', 'rules', i]);
  const rules: ResidencyRule[] = p.rules.map((r) => ({ name: r.name, match: r.match, regions: r.regions }));
  checkUnique(rules.map((r) => r.name), (i) => [...at(i), 'name'], 'residency rule name', issues);
  const known = [...nodeRegions].join(', ');
  rules.forEach((rule, i) => {
    const m = rule.match;
    if (m.user === null && m.database === null && m.applicationName === null && m.tenant === null && m.cidr === null) {
      issues.push({ path: [...at(i), 'match'], message: 'must set at least one of user, database, application_name, tenant, cidr' });
    }
    rule.regions.forEach((region, j) => {
      if (!nodeRegions.has(region)) {
        issues.push({ path: [...at(i), 'regions', j], message: `region "${region}" has no node in cluster.nodes (regions: ${known})` });
      }
    });
  });
  return { requireMatch: p.require_match, bindTenants: p.bind_tenants ?? users.some((u) => u.tenants !== null), rules };
}

/** A PEM file of fleet.tls, read now so a missing file fails the (re)load. */
function readPem(path: string, key: string, fromBase: (p: string) => string, ctx: ResolveContext, issues: Issues): string {
  try {
    const pem = ctx.readFile(fromBase(path));
    if (!pem.includes('-----BEGIN ')) issues.push({ path: ['fleet', 'tls', key], message: `${path} holds no PEM data` });
    return pem;
  } catch (err) {
    issues.push({ path: ['fleet', 'tls', key], message: `cannot read ${path}: ${(err as Error).message}` });
    return '';
  }
}

/**
 * fleet: etcd endpoints, prefix, this instance's name (default host name and listen port; with
 * port 0 the process id stands in for the port), TLS files read now, the password from its file.
 */
function resolveFleet(parsed: ParsedConfig, workers: number, fromBase: (p: string) => string, ctx: ResolveContext, issues: Issues): FleetConfig | null {
  const f = parsed.fleet;
  if (f === null) return null;
  if (workers > 1) {
    issues.push({ path: ['fleet'], message: `needs workers: 1 (got ${workers}): the etcd fleet client runs in a single-process instance only; run several instances instead of several workers` });
  }
  const password = secretFrom(f.password, f.password_file, ['fleet'], 'password_file', 'password', ctx, issues);
  if (password !== null && f.user === null) issues.push({ path: ['fleet', 'user'], message: 'is required with fleet.password' });
  if (f.user !== null && password === null) issues.push({ path: ['fleet', 'password'], message: 'is required with fleet.user (or password_file)' });
  const t = f.tls;
  if (t !== null && (t.cert === null) !== (t.key === null)) issues.push({ path: ['fleet', 'tls'], message: 'set both cert and key, or neither' });
  if (t !== null && f.endpoints.some((e) => e.startsWith('http://'))) issues.push({ path: ['fleet', 'endpoints'], message: 'must be https:// URLs with fleet.tls' });
  const prefix = `/${f.prefix.replace(/^\/+|\/+$/g, '')}`;
  const port = parsed.listen.port;
  return {
    endpoints: f.endpoints.map((e) => e.replace(/\/$/, '')),
    prefix,
    instance: f.instance ?? `${hostname()}:${port === 0 ? `pid${process.pid}` : port}`,
    tls:
      t === null
        ? null
        : {
            ca: readPem(t.ca, 'ca', fromBase, ctx, issues),
            cert: t.cert === null ? null : readPem(t.cert, 'cert', fromBase, ctx, issues),
            key: t.key === null ? null : readPem(t.key, 'key', fromBase, ctx, issues),
          },
    user: f.user,
    password,
    ackTimeoutMs: f.ack_timeout,
    callTimeoutMs: f.call_timeout,
    leaseTtlMs: f.lease_ttl,
    syncIntervalMs: f.sync_interval,
  };
}

/** Turns a schema-valid config into the final shape, or reports why it cannot. */
export function resolveConfig(parsed: ParsedConfig, ctx: ResolveContext): { config: MeridianConfig; issues: PathIssue[] } {
  const issues: Issues = [];
  const users = resolveUsers(parsed, ctx, issues);
  checkUnique(users.map((u) => u.name), (i) => ['users', i, 'name'], 'user name', issues);
  const nodes = parsed.cluster.nodes;
  checkUnique(nodes.map((n) => n.name), (i) => ['cluster', 'nodes', i, 'name'], 'node name', issues);
  if (parsed.pool.minIdle > parsed.pool.size) {
    issues.push({ path: ['pool', 'min_idle'], message: `must not exceed pool.size (${parsed.pool.size})` });
  }

  if (parsed.limits.adminReservedConnections >= parsed.pool.maxClients) {
    issues.push({ path: ['limits', 'admin_reserved_connections'], message: `must be below pool.max_clients (${parsed.pool.maxClients}): the rest are for ordinary clients` });
  }

  const userNames = new Set(users.map((u) => u.name));
  parsed.admin.users.forEach((name, i) => {
    if (!userNames.has(name)) issues.push({ path: ['admin', 'users', i], message: `user "${name}" is not defined in users` });
  });

  // Probes log in as the first user unless told otherwise; the password follows the user.
  const h = parsed.health;
  const first = users[0];
  const probeUser = h.user ?? first?.backendUser ?? 'postgres';
  const probeOwner = users.find((u) => u.backendUser === probeUser);
  const inlinePassword = secretFrom(h.password, h.password_file, ['health'], 'password_file', 'password', ctx, issues);
  if (inlinePassword === null && h.password_file === null && probeOwner !== undefined && probeOwner.backendPassword === null && probeOwner.password !== null && looksLikeStoredSecret(probeOwner.password)) {
    issues.push({ path: ['health', 'password'], message: `is required: the probe user "${probeUser}" has a stored SCRAM secret, which cannot log in to a node by itself (set health.password, or health.user to another user)` });
  }
  const http = parsed.admin.http;
  const token = http === null ? null : secretFrom(http.token, http.token_file, ['admin', 'http'], 'token_file', 'token', ctx, issues);

  const residency = resolveResidency(parsed, users, new Set(nodes.map((n) => n.region)), issues);

  if (parsed.cluster.patroni !== null && parsed.cluster.kind !== 'physical') {
    issues.push({ path: ['cluster', 'patroni'], message: `only applies to cluster.kind physical (cluster.kind is ${parsed.cluster.kind})` });
  }

  const fromBase = (p: string) => (isAbsolute(p) ? p : resolvePath(ctx.baseDir, p));
  const { tls_ca: tlsCaPath, ...clusterRest } = parsed.cluster;
  const { auth_methods: authMethods, ...clusterFields } = clusterRest;
  const cluster = {
    ...clusterFields,
    tlsCa: readCa(tlsCaPath, parsed.cluster.tls, fromBase, ctx, issues),
    authMethods: authMethods.length === 0 ? DEFAULT_BACKEND_AUTH : [...new Set(authMethods)],
  };
  const workers = parsed.workers === 'auto' ? Math.max(1, availableParallelism()) : parsed.workers;
  const config: MeridianConfig = {
    workers,
    listen: parsed.listen,
    tls: parsed.tls === null ? null : { cert: fromBase(parsed.tls.cert), key: fromBase(parsed.tls.key), mode: parsed.tls.mode },
    region: parsed.region,
    location: parsed.location,
    pool: parsed.pool,
    users,
    auth: resolveAuth(parsed, ctx, issues),
    cluster,
    health: {
      intervalMs: h.interval, timeoutMs: h.timeout, rise: h.rise, fall: h.fall, fastIntervalMs: h.fast_interval,
      jitter: h.jitter, user: probeUser, password: inlinePassword ?? probeOwner?.backendPassword ?? null,
      database: h.database, heartbeatTable: h.heartbeat_table,
    },
    routing: {
      writeWaitMs: parsed.routing.write_wait, maxReadLagMs: parsed.routing.max_read_lag,
      lagToleranceMs: parsed.routing.lag_tolerance,
      readsOnMasters: parsed.routing.reads_on_masters ?? kindPlugin(parsed.cluster.kind).defaultReadsOnMasters,
      readmitMaxLagMs: parsed.routing.readmit_max_lag, writeFunctions: parsed.routing.write_functions,
      readFunctions: parsed.routing.read_functions, catalogRefreshMs: parsed.routing.catalog_refresh,
      retryReads: parsed.routing.retry_reads, readYourWrites: parsed.routing.read_your_writes,
      causalWaitMs: parsed.routing.causal_wait, trustSyncStandbys: parsed.routing.trust_sync_standbys, reportCausalToken: parsed.routing.report_causal_token,
      retryRefusedWrites: parsed.routing.retry_refused_writes, deferBegin: parsed.routing.defer_begin,
      transactionReplay: parsed.routing.transaction_replay, transactionReplayMaxBytes: parsed.routing.transaction_replay_max_bytes,
    },
    residency,
    drain: parsed.drain,
    shutdown: parsed.shutdown,
    tracing: parsed.tracing,
    admin: { database: parsed.admin.database, users: parsed.admin.users, http: http === null ? null : { host: http.host, port: http.port, token, allowedHosts: http.allowed_hosts.map((h) => h.toLowerCase()) } },
    fleet: resolveFleet(parsed, workers, fromBase, ctx, issues),
    log: parsed.log,
    limits: parsed.limits,
  };
  return { config, issues };
}
