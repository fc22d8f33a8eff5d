// Second pass over a schema-valid config: secrets from files, defaults that depend on other
// keys, and checks that span keys (unique names, admin users exist, residency regions exist). Returns issues with YAML key paths; the loader adds line numbers.
// The only IO is reading secret files, through the injected reader.
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { isPlaceholderSecret } from './placeholder-secrets.js';
import type { ConfigPath, PathIssue } from './env-substitute.js';
import type { ParsedConfig } from './schema.js';
import type { MeridianConfig, ResidencyConfig, ResidencyRule, UserConfig } from './types.js';

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
  if (path === null) return null;
  const at: ConfigPath = ['cluster', 'tls_ca'];
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
    return {
      name: u.name, password, auth: u.auth, backendUser: u.backend_user ?? u.name, backendPassword: backendPassword ?? password,
      maxConnections: u.max_connections, tenants: u.tenants,
    };
  });
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
  const http = parsed.admin.http;
  const token = http === null ? null : secretFrom(http.token, http.token_file, ['admin', 'http'], 'token_file', 'token', ctx, issues);

  const residency = resolveResidency(parsed, users, new Set(nodes.map((n) => n.region)), issues);

  const fromBase = (p: string) => (isAbsolute(p) ? p : resolvePath(ctx.baseDir, p));
  const { tls_ca: tlsCaPath, ...clusterRest } = parsed.cluster;
  const cluster = { ...clusterRest, tlsCa: readCa(tlsCaPath, parsed.cluster.tls, fromBase, ctx, issues) };
  const config: MeridianConfig = {
    listen: parsed.listen,
    tls: parsed.tls === null ? null : { cert: fromBase(parsed.tls.cert), key: fromBase(parsed.tls.key), mode: parsed.tls.mode },
    region: parsed.region,
    location: parsed.location,
    pool: parsed.pool,
    users,
    cluster,
    health: {
      intervalMs: h.interval, timeoutMs: h.timeout, rise: h.rise, fall: h.fall, fastIntervalMs: h.fast_interval,
      jitter: h.jitter, user: probeUser, password: inlinePassword ?? probeOwner?.backendPassword ?? null,
      database: h.database, heartbeatTable: h.heartbeat_table,
    },
    routing: {
      writeWaitMs: parsed.routing.write_wait, maxReadLagMs: parsed.routing.max_read_lag,
      lagToleranceMs: parsed.routing.lag_tolerance,
      readsOnMasters: parsed.routing.reads_on_masters ?? (parsed.cluster.kind === 'physical' ? 'fallback' : 'always'),
      readmitMaxLagMs: parsed.routing.readmit_max_lag, writeFunctions: parsed.routing.write_functions,
      readFunctions: parsed.routing.read_functions, catalogRefreshMs: parsed.routing.catalog_refresh,
      retryReads: parsed.routing.retry_reads, readYourWrites: parsed.routing.read_your_writes,
      retryRefusedWrites: parsed.routing.retry_refused_writes, deferBegin: parsed.routing.defer_begin,
    },
    residency,
    drain: parsed.drain,
    admin: { database: parsed.admin.database, users: parsed.admin.users, http: http === null ? null : { host: http.host, port: http.port, token, allowedHosts: http.allowed_hosts.map((h) => h.toLowerCase()) } },
    log: parsed.log,
    limits: parsed.limits,
  };
  return { config, issues };
}
