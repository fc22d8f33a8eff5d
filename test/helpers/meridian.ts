// Starts Meridian in-process for integration tests, in front of a test cluster, on a free
// loopback port. Config is real YAML through the real loader, so tests exercise the same path.

import pg from 'pg';
import { parseConfigText } from '../../src/config/load-config.js';
import type { MeridianConfig } from '../../src/config/types.js';
import { createLogger } from '../../src/logger.js';
import { Meridian } from '../../src/server.js';
import { runInitHeartbeat } from '../../src/health/init-heartbeat-command.js';
import type { Cluster } from '../support/cluster.js';
import { TEST_USERS } from '../support/cluster.js';

/** The admin console user's password in test configs (a placeholder such as "admin-secret" is refused at load). */
export const ADMIN_PASSWORD = 'admin-console-test-pw';

/** Rows of one admin console command on the Meridian listening on `port`. */
export async function adminRows(port: number, sql: string): Promise<Array<Record<string, unknown>>> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'admin', password: ADMIN_PASSWORD, database: 'meridian' });
  await c.connect();
  try {
    return (await c.query(sql)).rows as Array<Record<string, unknown>>;
  } finally {
    await c.end();
  }
}

export interface RunningMeridian {
  readonly m: Meridian;
  readonly port: number;
  /** postgres://… DSN for a test user through Meridian */
  dsn(user?: 'app' | 'md5user' | 'plainuser', database?: string): string;
  stop(): Promise<void>;
}

export interface TestNodeSpec {
  name: string;
  host: string;
  port: number;
  region?: string;
  priority?: number;
  location?: string; // YAML flow mapping, e.g. "{ lat: 1, lon: 2 }"
}

export interface StartOptions {
  kind?: MeridianConfig['cluster']['kind'];
  /** Extra YAML appended at top level (health:, routing:, residency: …). */
  extraYaml?: string;
  /** Extra entries of the users list (each line indented two spaces), e.g. `  - { name: t, auth: trust, backend_user: app, backend_password: … }`. */
  usersYaml?: string;
  /** Extra lines inside the cluster section (indented two spaces), e.g. `  tls: require`. */
  clusterYaml?: string;
  pool?: string; // YAML flow mapping body, e.g. "mode: session, size: 5"
  health?: string; // YAML flow mapping body replacing the default health settings
  nodes?: TestNodeSpec[];
  configPath?: string;
  /** Run `meridian init-heartbeat` before starting, as an operator would (default: for pglogical/heartbeat kinds). */
  initHeartbeat?: boolean;
  /** With `tracing: { enabled: true }` in extraYaml: the span exporter (the SDK's in-memory one). */
  tracingExporter?: unknown;
}

export function meridianYaml(cluster: Cluster | null, opts: StartOptions = {}): string {
  const kind = opts.kind ?? (cluster?.kind === 'pglogical' ? 'pglogical' : 'physical');
  const nodes: TestNodeSpec[] = opts.nodes ?? cluster!.nodes.map((n, i) => ({ name: n.name, host: n.host, port: n.port, region: `r${i + 1}` }));
  const nodeYaml = nodes
    .map(
      (n) =>
        `    - { name: ${n.name}, host: ${n.host}, port: ${n.port}, region: ${n.region ?? 'local'}${n.priority !== undefined ? `, priority: ${n.priority}` : ''}${n.location ? `, location: ${n.location}` : ''} }`,
    )
    .join('\n');
  return `listen: { host: 127.0.0.1, port: 0 }
pool: { ${opts.pool ?? 'mode: transaction, size: 10, queue_timeout: 5s'} }
users:
  - { name: app, password: "${TEST_USERS.app.password}", auth: scram-sha-256 }
  - { name: md5user, password: "${TEST_USERS.md5user.password}", auth: md5 }
  - { name: plainuser, password: "${TEST_USERS.plainuser.password}", auth: password }
  - { name: admin, password: "${ADMIN_PASSWORD}", auth: scram-sha-256, backend_user: app, backend_password: "${TEST_USERS.app.password}" }
${opts.usersYaml ?? ''}
cluster:
  kind: ${kind}
  nodes:
${nodeYaml}
${opts.clusterYaml?.includes('auth_methods') ? '' : '  auth_methods: [scram-sha-256, md5, insecure-password, trust] # plainuser: the nodes ask for cleartext over TCP'}
${opts.clusterYaml ?? ''}
health: { ${opts.health ?? 'interval: 200ms, timeout: 1s, rise: 2, fall: 2'}, user: postgres, database: app }
admin: { users: [admin] }
log: { level: ${process.env.MERIDIAN_TEST_LOG ?? 'silent'} }
${opts.extraYaml ?? ''}
`;
}

export async function startMeridian(cluster: Cluster | null, opts: StartOptions = {}): Promise<RunningMeridian> {
  const cfg = parseConfigText(meridianYaml(cluster, opts), 'test.yaml');
  // Heartbeat kinds need the table (and its replication) before Meridian writes to it; several
  // test files may do this at once on a shared cluster, so a failed attempt is retried.
  if (opts.initHeartbeat ?? (cfg.cluster.kind === 'pglogical' || cfg.cluster.kind === 'heartbeat')) {
    let out: string[] = [];
    let code = 1;
    for (let attempt = 0; attempt < 3 && code !== 0; attempt++) {
      out = [];
      code = await runInitHeartbeat(cfg, { write: (t: string) => out.push(t) > 0 });
      if (code !== 0) await new Promise((r) => setTimeout(r, 500 + Math.random() * 1000));
    }
    if (code !== 0) throw new Error(`init-heartbeat failed:\n${out.join('')}`);
  }
  const m = new Meridian(cfg, { logger: createLogger(cfg.log.level), configPath: opts.configPath ?? null, tracingExporter: opts.tracingExporter });
  const { port } = await m.start();
  await m.health.waitReady(60_000);
  const passwords: Record<string, string> = {
    app: TEST_USERS.app.password,
    md5user: TEST_USERS.md5user.password,
    plainuser: TEST_USERS.plainuser.password,
  };
  return {
    m,
    port,
    dsn: (user = 'app', database = 'app') => `postgres://${user}:${passwords[user]}@127.0.0.1:${port}/${database}`,
    stop: () => m.stop(2000),
  };
}

/** A connected client of this Meridian (errors after a close are the test's to see, not fatal). */
export async function connectClient(mer: RunningMeridian): Promise<pg.Client> {
  const client = new pg.Client(mer.dsn());
  client.on('error', () => {});
  await client.connect();
  return client;
}
