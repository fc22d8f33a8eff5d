import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile } from '../../../src/config/load-config.js';
import { load, loadError, MINIMAL } from './helpers.js';

describe('defaults', () => {
  it('fills every documented default from a minimal file', () => {
    const cfg = load(MINIMAL);
    expect(cfg.listen).toEqual({ host: '127.0.0.1', port: 6432 });
    expect(cfg.tls).toBeNull();
    expect(cfg.region).toBeNull();
    expect(cfg.location).toBeNull();
    expect(cfg.pool).toEqual({
      mode: 'transaction', size: 20, minIdle: 0, idleTimeoutMs: 60_000, maxLifetimeMs: 3_600_000,
      queueTimeoutMs: 5000, connectTimeoutMs: 5000, maxClients: 1000, preparedStatementsPerBackend: 500,
      resetQuery: null, maxPools: 5000, sessionReuse: true,
    });
    expect(cfg.users).toEqual([{ name: 'app', password: 's3cret-app', auth: 'scram-sha-256', backendUser: 'app', backendPassword: 's3cret-app', maxConnections: null, tenants: null }]);
    expect(cfg.cluster.tls).toBe('disable');
    expect(cfg.cluster.nodes[0]).toEqual({ name: 'dublin', host: '127.0.0.1', port: 5501, region: 'eu-west', location: null, priority: 0 });
    expect(cfg.health).toEqual({
      intervalMs: 1000, timeoutMs: 1000, rise: 2, fall: 2, fastIntervalMs: 250, jitter: 0.1,
      user: 'app', password: 's3cret-app', database: 'postgres', heartbeatTable: 'meridian_heartbeat',
    });
    expect(cfg.routing).toEqual({
      writeWaitMs: 2000, maxReadLagMs: 5000, lagToleranceMs: 100, readsOnMasters: 'always', readmitMaxLagMs: 1000,
      writeFunctions: [], readFunctions: [], catalogRefreshMs: 60_000, retryReads: true, readYourWrites: false, causalWaitMs: 2000, trustSyncStandbys: true, reportCausalToken: false, retryRefusedWrites: true,
      deferBegin: true, transactionReplay: false, transactionReplayMaxBytes: 1024 * 1024,
    });
    expect(cfg.residency).toEqual({ requireMatch: false, bindTenants: false, rules: [] });
    expect(cfg.drain).toEqual({ timeoutMs: 30_000, onTimeout: 'cancel' });
    expect(cfg.shutdown).toEqual({ graceMs: 20_000, unreadyDelayMs: 0 });
    expect(cfg.tracing).toEqual({ enabled: false, otlpEndpoint: null, sampleRatio: 1, serviceName: 'meridian' });
    expect(cfg.admin).toEqual({ database: 'meridian', users: [], http: null });
    expect(cfg.log).toEqual({ level: 'info' });
    expect(cfg.limits).toEqual({
      maxFrameBytes: 64 * 1024 * 1024, maxRequestBytes: 64 * 1024 * 1024, maxPreparedStatements: 10_000, maxSessionSettings: 1_000, maxParseBytes: 1024 * 1024,
      authTimeoutMs: 10_000, maxPendingLogins: 200, adminReservedConnections: 3,
      idleTransactionTimeoutMs: 0, clientIdleTimeoutMs: 0,
    });
  });

  it('reads the client limits and refuses admin slots that leave none for other clients', () => {
    const l = load(`${MINIMAL}limits: { auth_timeout: 2s, max_pending_logins: 50, idle_transaction_timeout: 30s, client_idle_timeout: 10m }\n`).limits;
    expect(l).toMatchObject({ authTimeoutMs: 2000, maxPendingLogins: 50, idleTransactionTimeoutMs: 30_000, clientIdleTimeoutMs: 600_000 });
    expect(loadError(`${MINIMAL}pool: { max_clients: 3 }\nlimits: { admin_reserved_connections: 3 }\n`).message).toMatch(/limits\.admin_reserved_connections.*below pool\.max_clients/s);
    expect(loadError(`${MINIMAL}limits: { auth_timeout: 10ms }\n`).message).toMatch(/limits\.auth_timeout/);
  });

  it('defaults reads_on_masters to fallback for physical clusters only', () => {
    expect(load(MINIMAL.replace('pglogical', 'physical')).routing.readsOnMasters).toBe('fallback');
    expect(load(MINIMAL.replace('pglogical', 'spock')).routing.readsOnMasters).toBe('always');
    expect(load(`${MINIMAL}routing: { reads_on_masters: never }\n`).routing.readsOnMasters).toBe('never');
  });

  it('takes backend credentials and the probe login from the first user', () => {
    const cfg = load(MINIMAL.replace('{ name: app, password: s3cret-app }', '{ name: app, password: s3cret-app, backend_user: pg, backend_password: pgpw }'));
    expect(cfg.users[0]).toMatchObject({ backendUser: 'pg', backendPassword: 'pgpw' });
    expect(cfg.health).toMatchObject({ user: 'pg', password: 'pgpw' });
  });

  it('admin.http gets host and port defaults when present', () => {
    const cfg = load(`${MINIMAL}admin: { http: { token: t } }\n`);
    expect(cfg.admin.http).toEqual({ host: '127.0.0.1', port: 9187, token: 't', allowedHosts: [] });
  });

  it('tls paths are resolved against the config directory', () => {
    const cfg = load(`${MINIMAL}tls: { cert: certs/a.crt, key: /abs/a.key }\n`);
    expect(cfg.tls).toEqual({ cert: '/etc/meridian/certs/a.crt', key: '/abs/a.key', mode: 'allow' });
  });

  it('lets a trust user omit the password', () => {
    const cfg = load(MINIMAL.replace('{ name: app, password: s3cret-app }', '{ name: app, auth: trust }'));
    expect(cfg.users[0]).toMatchObject({ password: null, backendPassword: null, auth: 'trust' });
    expect(cfg.health.password).toBeNull();
  });

  it('returns a deeply frozen config', () => {
    const cfg = load(MINIMAL);
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.cluster.nodes)).toBe(true);
    expect(Object.isFrozen(cfg.cluster.nodes[0])).toBe(true);
    expect(() => { (cfg.pool as { size: number }).size = 1; }).toThrow(TypeError);
  });
});

describe('durations and sizes', () => {
  it.each([
    ['500ms', 500], ['2s', 2000], ['1m', 60_000], ['1h', 3_600_000], ['1.5s', 1500], ['1m30s', 90_000], ['250', 250], [750, 750],
  ])('idle_timeout %s = %i ms', (text, ms) => {
    expect(load(`${MINIMAL}pool: { idle_timeout: ${text} }\n`).pool.idleTimeoutMs).toBe(ms);
  });

  it.each(['2 sec', '-1s', 'fast', '1d', 'true'])('rejects duration %j naming the key', (text) => {
    const err = loadError(`${MINIMAL}pool: { queue_timeout: ${text} }\n`);
    expect(err.message).toMatch(/test\.yaml:10:\d+: pool\.queue_timeout: expected a duration/);
  });

  it('accepts byte sizes for limits.max_frame_bytes', () => {
    expect(load(`${MINIMAL}limits: { max_frame_bytes: 1MB }\n`).limits.maxFrameBytes).toBe(1024 * 1024);
    expect(load(`${MINIMAL}limits: { max_frame_bytes: 8kiB }\n`).limits.maxFrameBytes).toBe(8192);
    expect(load(`${MINIMAL}limits: { max_frame_bytes: 4096 }\n`).limits.maxFrameBytes).toBe(4096);
    expect(loadError(`${MINIMAL}limits: { max_frame_bytes: 2TB }\n`).message).toMatch(/limits\.max_frame_bytes/);
  });
});

describe('environment substitution', () => {
  it('substitutes ${VAR} and ${VAR:-default}', () => {
    const text = MINIMAL.replace('password: s3cret-app', 'password: "${APP_PW}", backend_password: "x-${PG_PW:-fallback}-y"');
    expect(load(text, { APP_PW: 'from-env' }).users[0]).toMatchObject({ password: 'from-env', backendPassword: 'x-fallback-y' });
    expect(load(text, { APP_PW: 'a', PG_PW: 'b' }).users[0]).toMatchObject({ backendPassword: 'x-b-y' });
    expect(load(text, { APP_PW: 'a', PG_PW: '' }).users[0]).toMatchObject({ backendPassword: 'x-fallback-y' });
  });

  it('feeds numeric keys from the environment', () => {
    expect(load(`${MINIMAL}listen: { port: "\${PORT:-7000}" }\n`, { PORT: '7432' }).listen.port).toBe(7432);
    expect(load(`${MINIMAL}listen: { port: "\${PORT:-7000}" }\n`).listen.port).toBe(7000);
  });

  it('names the variable, the key and the line when a variable is missing', () => {
    const err = loadError(MINIMAL.replace('password: s3cret-app', 'password: "${APP_PASSWORD}"'));
    expect(err.message).toBe('test.yaml:3:28: users[0].password: environment variable APP_PASSWORD is not set (use ${APP_PASSWORD:-default} for a default)');
    expect(err.issues).toEqual([expect.objectContaining({ path: 'users[0].password', line: 3 })]);
  });

  it('keeps $${ as a literal and rejects malformed references', () => {
    expect(load(MINIMAL.replace('password: s3cret-app', () => 'password: "a$${B}"')).users[0]?.password).toBe('a${B}');
    expect(loadError(MINIMAL.replace('password: s3cret-app', 'password: "${1BAD}"')).message).toMatch(/users\[0\]\.password: bad environment reference/);
    expect(loadError(MINIMAL.replace('password: s3cret-app', 'password: "${OPEN"')).message).toMatch(/unterminated/);
  });
});

describe('secret files', () => {
  it('reads *_file secrets relative to the config file and drops the trailing newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-config-'));
    writeFileSync(join(dir, 'app.pw'), 'file-secret\n');
    writeFileSync(join(dir, 'token'), 'tok');
    const text = MINIMAL.replace('{ name: app, password: s3cret-app }', '{ name: app, password_file: app.pw }') +
      'admin: { http: { token_file: token } }\n';
    writeFileSync(join(dir, 'm.yaml'), text);
    const cfg = loadConfigFile(join(dir, 'm.yaml'), { env: {} });
    expect(cfg.users[0]).toMatchObject({ password: 'file-secret', backendPassword: 'file-secret' });
    expect(cfg.admin.http?.token).toBe('tok');
  });

  it('rejects a missing file and both forms at once', () => {
    expect(loadError(MINIMAL.replace('password: s3cret-app', 'password_file: /nonexistent/pw')).message)
      .toMatch(/users\[0\]\.password_file: cannot read secret file \/nonexistent\/pw/);
    expect(loadError(MINIMAL.replace('password: s3cret-app', 'password: a, password_file: /x')).message)
      .toMatch(/set either password or password_file, not both/);
  });
});

describe('errors name the key and the line', () => {
  it('rejects an unknown top-level key at its line, with a suggestion', () => {
    const err = loadError(`${MINIMAL}rooting:\n  write_wait: 1s\n`);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.sqlstate).toBe('F0000');
    expect(err.message).toMatch(/^test\.yaml:10:1: rooting: unknown key "rooting" \(did you mean "routing"\?\)/);
  });

  it('rejects an unknown nested key in a list item at its line', () => {
    const err = loadError(MINIMAL.replace('port: 5502,', 'prot: 5502,'));
    expect(err.message).toMatch(/^test\.yaml:8:42: cluster\.nodes\[1\]\.prot: unknown key "prot" \(did you mean "port"\?\)/);
  });

  it('rejects unknown keys in block style, reporting every one', () => {
    const err = loadError(`${MINIMAL}pool:\n  size: 5\n  idle_timout: 1s\nhealth:\n  risee: 3\n`);
    expect(err.issues.map((i) => [i.path, i.line])).toEqual([['pool.idle_timout', 12], ['health.risee', 14]]);
    expect(err.message).toContain('2 errors in test.yaml');
  });

  it.each([
    ['pool: { size: 0 }', 'pool.size', /expected an integer from 1 to 100000, got number 0/],
    ['pool: { mode: statement }', 'pool.mode', /expected one of transaction \| session, got "statement"/],
    ['listen: { port: 70000 }', 'listen.port', /expected an integer from 0 to 65535/],
    ['health: { jitter: 2 }', 'health.jitter', /expected a fraction from 0 to 1/],
    ['health: { heartbeat_table: "x; drop table y" }', 'health.heartbeat_table', /expected a lower-case table name/],
    ['routing: { retry_reads: maybe }', 'routing.retry_reads', /expected true or false/],
    ['log: { level: loud }', 'log.level', /expected one of trace/],
    ['pool: 5', 'pool', /expected a mapping, got number 5/],
    ['admin: { users: [root] }', 'admin.users[0]', /user "root" is not defined in users/],
    ['pool: { size: 2, min_idle: 3 }', 'pool.min_idle', /must not exceed pool.size/],
    ['location: { lat: 91, lon: 0 }', 'location.lat', /expected a latitude/],
  ])('%s → error at %s', (extra, path, message) => {
    const err = loadError(`${MINIMAL}${extra}\n`);
    const issue = err.issues.find((i) => i.path === path);
    expect(issue, err.message).toBeDefined();
    expect(issue?.message).toMatch(message);
    expect(issue?.line).toBe(10);
  });

  it('rejects a bad node port, naming the node index and the line', () => {
    const err = loadError(MINIMAL.replace('port: 5503', 'port: 0'));
    expect(err.message).toMatch(/^test\.yaml:9:45: cluster\.nodes\[2\]\.port: expected an integer from 1 to 65535, got number 0$/);
  });

  it('rejects duplicate node and user names', () => {
    expect(loadError(MINIMAL.replace('name: tokyo', 'name: dublin')).message).toMatch(/cluster\.nodes\[2\]\.name: duplicate node name "dublin"/);
    const twoApps = MINIMAL.replace('- { name: app, password: s3cret-app }', '- { name: app, password: a }\n  - { name: app, password: b }');
    expect(loadError(twoApps).message).toMatch(/users\[1\]\.name: duplicate user name "app"/);
  });

  it('requires a password unless auth is trust', () => {
    const err = loadError(MINIMAL.replace('{ name: app, password: s3cret-app }', '{ name: app, auth: md5 }'));
    expect(err.message).toMatch(/test\.yaml:3:5: users\[0\]\.password: is required for auth md5/);
  });

  it('never puts a secret value in a message', () => {
    const err = loadError(MINIMAL.replace('password: s3cret-app', 'password: 123456'));
    expect(err.message).toMatch(/users\[0\]\.password: expected a non-empty string, got a number \(quote it to make it a string\)/);
    expect(err.message).not.toContain('123456');
  });

  it('reports missing required sections and keys', () => {
    const err = loadError('listen: { port: 1 }\n');
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).toEqual(['users: must list at least one user', 'cluster: is required']);
    expect(loadError('users: [{ name: a, password: b }]\ncluster: { nodes: [{ name: n, host: h, region: r }] }\n').message)
      .toMatch(/test\.yaml:2:10: cluster\.kind: is required/);
    expect(loadError(MINIMAL.replace(', region: us-east', '')).message).toMatch(/cluster\.nodes\[1\]\.region: is required/);
  });

  it('reports YAML syntax errors and duplicate keys with a line', () => {
    expect(loadError('users: [\n').message).toMatch(/^test\.yaml:\d+:\d+: invalid YAML/);
    expect(loadError(`${MINIMAL}log: { level: info }\nlog: { level: debug }\n`).message).toMatch(/test\.yaml:11:1: invalid YAML: Map keys must be unique/);
  });

  it('rejects a node name that would not survive hints and admin commands', () => {
    expect(loadError(MINIMAL.replace('name: tokyo', 'name: "to kyo"')).message).toMatch(/cluster\.nodes\[2\]\.name: expected a node name/);
  });

  it('follows YAML anchors and merge keys; top-level x- keys hold anchors', () => {
    const text = `
users: [{ name: app, password: pw }]
defaults: &node { host: 127.0.0.1, region: r }
cluster:
  kind: physical
  nodes:
    - { <<: *node, name: a, port: 1 }
`;
    expect(loadError(text).message).toMatch(/test\.yaml:3:1: defaults: unknown key "defaults"/);
    const cfg = load(text.replace('defaults:', 'x-defaults:'));
    expect(cfg.cluster.nodes[0]).toMatchObject({ name: 'a', host: '127.0.0.1', region: 'r', port: 1 });
    expect(loadError(text.replace('defaults:', 'x-defaults:').replace('port: 1', 'prio: 1')).message)
      .toMatch(/test\.yaml:7:29: cluster\.nodes\[0\]\.prio: unknown key "prio" \(did you mean "priority"\?\)/);
  });
});

describe('loadConfigFile', () => {
  it('names the file when it cannot be read', () => {
    expect(() => loadConfigFile('/nonexistent/meridian.yaml')).toThrow(/^\/nonexistent\/meridian\.yaml: cannot read config file/);
  });
});
