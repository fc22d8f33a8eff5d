// Issue 6 acceptance: the admin console (database `meridian`, users from admin.users) through
// psql and node-postgres against a real 3-node pglogical cluster: every SHOW command returns a
// proper row set, SHOW CONFIG hides secrets, EXPLAIN ROUTE names the node and why, unknown
// commands get 42601, DRAIN/UNDRAIN change where traffic goes, SHUTDOWN stops the proxy.

import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sharedCluster, TEST_USERS, waitFor, type PglogicalCluster } from '../support/cluster.js';
import { runPsql } from '../support/proc.js';
import { ADMIN_PASSWORD, startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: PglogicalCluster;
let mer: RunningMeridian;

/** Minimal CSV (psql --csv): quoted fields, doubled quotes, embedded newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Runs one admin command through psql; rows as objects keyed by column name. */
async function psqlAdmin(command: string, env: NodeJS.ProcessEnv = {}): Promise<Array<Record<string, string>>> {
  const r = await runPsql({ port: mer.port, user: 'admin', password: ADMIN_PASSWORD, db: 'meridian', command, bare: false, args: ['--csv', '-q'], env });
  const [header, ...rows] = parseCsv(r.stdout);
  return rows.map((cells) => Object.fromEntries((header ?? []).map((h, i) => [h, cells[i] ?? ''])));
}

function appClient(): pg.Client {
  return new pg.Client({ connectionString: mer.dsn('app') });
}

async function adminClient(): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: mer.port, user: 'admin', password: ADMIN_PASSWORD, database: 'meridian' });
  await c.connect();
  return c;
}

/** The heartbeat table pglogical lag needs (idempotent; safe when another file does the same). */
async function ensureHeartbeat(c: PglogicalCluster): Promise<void> {
  for (const n of c.nodes) {
    await n.query('CREATE TABLE IF NOT EXISTS meridian_heartbeat(node text PRIMARY KEY, ts timestamptz NOT NULL)').catch(() => {});
    const [r] = await n.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pglogical.replication_set_table WHERE set_reloid = 'meridian_heartbeat'::regclass",
    );
    if (r?.n === 0) await n.query("SELECT pglogical.replication_set_add_table('default', 'meridian_heartbeat', synchronize_data := false)").catch(() => {});
  }
}

/** Every node up, active and with a known lag (probes can lag behind on a loaded 2-core host). */
async function settled(m: RunningMeridian['m']): Promise<void> {
  await waitFor(() => m.snapshot().nodes.every((n) => n.isUp && n.state === 'active' && n.lagMs !== null), {
    timeoutMs: 60_000,
    what: () => `every node up, active, lag known: ${JSON.stringify(m.snapshot().nodes.map((n) => [n.name, n.isUp, n.state, n.lagMs]))}`,
  });
}

beforeAll(async () => {
  cluster = await sharedCluster('pglogical');
  await ensureHeartbeat(cluster);
  mer = await startMeridian(cluster, {
    extraYaml: `residency:
  - { name: eu-tenant, match: { tenant: eu1 }, regions: [r1] }
routing: { readmit_max_lag: 5s }
drain: { timeout: 5s }`,
  });
  await settled(mer.m);
});

// Tests change node state; start each from a settled topology.
beforeEach(async () => {
  await settled(mer.m);
});

afterAll(async () => {
  await mer?.stop();
});

describe('SHOW commands through psql', () => {
  it('SHOW NODES lists every node with role, state, health, backends and routed requests', async () => {
    const c = appClient();
    await c.connect();
    const { rows } = await c.query<{ port: number }>(
      'insert into accounts(id, region, balance) values ($1, $2, 0) on conflict (id) do nothing returning inet_server_port() as port',
      [Date.now() % 1e9, 'x'],
    );
    await c.end();
    const nodes = await psqlAdmin('SHOW NODES');
    expect(nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3']);
    for (const n of nodes) {
      expect(n).toMatchObject({ role: 'master', state: 'active', up: 't' });
      expect(Number(n.rtt_ms)).toBeGreaterThanOrEqual(0);
      expect(n.lag_ms).not.toBe('');
    }
    const writer = cluster.nodes.find((n) => n.port === rows[0]?.port)?.name;
    expect(writer).toBeDefined();
    expect(Number(nodes.find((n) => n.name === writer)?.routed_writes)).toBeGreaterThanOrEqual(1);
    expect(Object.keys(nodes[0]!)).toEqual([
      'name',
      'region',
      'role',
      'state',
      'up',
      'rtt_ms',
      'lag_ms',
      'lag_bytes',
      'active_backends',
      'idle_backends',
      'routed_reads',
      'routed_writes',
      'drain',
      'last_error',
      'lag_source',
      'problem',
      'patroni',
      'writes_held',
    ]);
  });

  it('SHOW POOLS and SHOW SESSIONS show the app pool, an open session and the admin session', async () => {
    const c = appClient();
    await c.connect();
    await c.query('begin');
    const { rows } = await c.query<{ port: number }>('select inet_server_port() as port');
    const node = cluster.nodes.find((n) => n.port === rows[0]?.port)!.name;
    try {
      const pools = await psqlAdmin('SHOW POOLS');
      const pool = pools.find((p) => p.node === node && p.user === 'app' && p.database === 'app');
      expect(pool).toBeDefined();
      expect(Number(pool!.active)).toBeGreaterThanOrEqual(1);
      const sessions = await psqlAdmin('show sessions;');
      const mine = sessions.filter((s) => s.user === 'app' && s.state === 'in-transaction' && s.node === node);
      expect(mine.length).toBeGreaterThanOrEqual(1);
      expect(sessions.some((s) => s.user === 'admin' && s.state === 'admin' && s.database === 'meridian')).toBe(true);
    } finally {
      await c.query('commit');
      await c.end();
    }
  });

  it('SHOW CONFIG shows settings with reload class and never a secret', async () => {
    const r = await runPsql({ port: mer.port, user: 'admin', password: ADMIN_PASSWORD, db: 'meridian', command: 'SHOW CONFIG', bare: false, args: ['--csv'] });
    expect(r.stdout).not.toContain(ADMIN_PASSWORD);
    expect(r.stdout).not.toContain(TEST_USERS.app.password);
    expect(r.stdout).not.toContain(TEST_USERS.md5user.password);
    const rows = await psqlAdmin('SHOW CONFIG');
    const byKey = new Map(rows.map((x) => [x.key, x]));
    expect(byKey.get('users[admin].password')?.value).toBe('[redacted]');
    expect(byKey.get('users[admin].backend_password')?.value).toBe('[redacted]');
    expect(byKey.get('pool.mode')).toMatchObject({ value: 'transaction', reload: 'restart' });
    expect(byKey.get('pool.size')).toMatchObject({ value: '10', reload: 'runtime' });
    expect(byKey.get('drain.timeout')?.value).toBe('5s');
  });

  it('SHOW RESIDENCY, SHOW ROUTES and SHOW STATS', async () => {
    const residency = await psqlAdmin('SHOW RESIDENCY');
    expect(residency).toEqual([expect.objectContaining({ rule: 'eu-tenant', match: 'tenant=eu1', regions: 'r1', nodes: 'n1', masters: 'n1', status: 'ok' })]);
    const routes = await psqlAdmin('SHOW ROUTES');
    expect(routes.find((r) => r.residency === 'eu-tenant' && r.class === 'write')).toMatchObject({ node: 'n1', result: 'ok' });
    expect(routes.find((r) => r.residency === '*' && r.class === 'read')?.result).toBe('ok');
    const stats = await psqlAdmin('SHOW STATS');
    expect(stats.map((s) => s.node)).toEqual(['n1', 'n2', 'n3', '*']);
    const total = stats.at(-1)!;
    expect(Number(total.requests)).toBeGreaterThanOrEqual(2);
    // Sub-millisecond on a quiet machine: a number, never negative.
    expect(Number.isFinite(Number(total.avg_request_ms))).toBe(true);
    expect(Number(total.avg_request_ms)).toBeGreaterThanOrEqual(0);
  });

  it('node-postgres gets typed rows (int8, bool) from the console', async () => {
    const c = await adminClient();
    try {
      const r = await c.query('SHOW NODES');
      expect(r.fields.map((f) => f.dataTypeID).slice(0, 6)).toEqual([25, 25, 25, 25, 16, 701]);
      expect(r.rows[0]?.up).toBe(true);
      expect(r.command).toBe('SELECT');
      expect(r.rowCount).toBe(3);
    } finally {
      await c.end();
    }
  });
});

describe('EXPLAIN ROUTE', () => {
  const explain = async (sql: string, env: NodeJS.ProcessEnv = {}) => new Map((await psqlAdmin(`EXPLAIN ROUTE ${sql}`, env)).map((r) => [r.field, r.value]));

  it('gives the class, the node and why for a write and a read', async () => {
    const w = await explain("insert into accounts values (1, 'x', 0)");
    expect(w.get('intent')).toBe('write');
    expect(w.get('class')).toMatch(/^write/);
    expect(['n1', 'n2', 'n3']).toContain(w.get('node'));
    expect(w.get('decision')).toMatch(/master/);
    expect(w.get(`node ${w.get('node')}`)).toMatch(/^CHOSEN/);
    const r = await explain('select * from accounts');
    expect(r.get('intent')).toBe('read');
    expect(r.get('residency')).toBe('none (whole cluster)');
  });

  it('honours a statement hint and the session’s residency (startup option meridian.tenant)', async () => {
    const h = await explain('/* meridian: node=n2 */ select 1');
    expect(h.get('node')).toBe('n2');
    expect(h.get('hint')).toMatch(/node=n2/);
    const eu = await explain('update accounts set balance = 0', { PGOPTIONS: '-c meridian.tenant=eu1' });
    expect(eu.get('residency')).toMatch(/^eu-tenant/);
    expect(eu.get('node')).toBe('n1');
    expect(eu.get('node n2')).toMatch(/outside residency rule "eu-tenant"/);
  });
});

describe('errors', () => {
  it('an unknown command gets 42601 with a hint listing the commands', async () => {
    const c = await adminClient();
    try {
      await expect(c.query('SELECT 1')).rejects.toMatchObject({
        code: '42601',
        message: 'unknown admin command: SELECT 1',
        hint: expect.stringContaining('SHOW NODES'),
      });
      await expect(c.query('DRAIN nosuchnode')).rejects.toMatchObject({ code: '22023', message: expect.stringContaining('unknown node "nosuchnode"') });
      // the connection stays usable after an error
      expect((await c.query('SHOW POOLS')).command).toBe('SELECT');
    } finally {
      await c.end();
    }
    const r = await runPsql({ port: mer.port, user: 'admin', password: ADMIN_PASSWORD, db: 'meridian', command: 'SHOW NOTHING', check: false });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown admin command: SHOW NOTHING');
  });

  it('a non-admin user cannot open the console', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: mer.port, user: 'app', password: TEST_USERS.app.password, database: 'meridian' });
    await expect(c.connect()).rejects.toMatchObject({ code: '28P01' });
  });
});

describe('DRAIN and UNDRAIN from psql', () => {
  it('refuses to drain the last master of a residency rule unless FORCE', async () => {
    const r = await runPsql({ port: mer.port, user: 'admin', password: ADMIN_PASSWORD, db: 'meridian', command: 'DRAIN n1', check: false });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/last master of residency rule "eu-tenant".*FORCE/);
    expect((await psqlAdmin('SHOW NODES')).find((n) => n.name === 'n1')?.state).toBe('active');
  });

  it('DRAIN n3 waits for its transaction, then no request goes there until UNDRAIN', async () => {
    const holder = appClient();
    await holder.connect();
    // Pin a transaction on n3 with a hint, so the drain has something to wait for.
    await holder.query('/* meridian: node=n3 */ begin');
    const { rows: held } = await holder.query<{ port: number }>('select inet_server_port() as port');
    expect(held[0]?.port).toBe(cluster.node('n3').port);
    const port3 = cluster.node('n3').port;
    const t0 = Date.now();
    const drained = psqlAdmin('DRAIN n3 20s');
    await waitFor(async () => (await psqlAdmin('SHOW NODES')).find((n) => n.name === 'n3')?.state === 'draining', { timeoutMs: 5000, what: 'n3 draining' });
    const during = (await psqlAdmin('SHOW NODES')).find((n) => n.name === 'n3')!;
    expect(during.drain).toMatch(/^1 sessions, 1 backends left; \d+s to timeout$/);
    // new work avoids n3 while it drains
    const other = appClient();
    await other.connect();
    for (let i = 0; i < 20; i++) {
      const { rows } = await other.query<{ port: number }>('select inet_server_port() as port');
      expect(rows[0]?.port).not.toBe(port3);
    }
    await new Promise((r) => setTimeout(r, 300));
    await holder.query('commit');
    const [result] = await drained;
    expect(result).toMatchObject({ node: 'n3', state: 'drained', outcome: 'drained', cancelled: '0', closed: '0' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    const n3 = (await psqlAdmin('SHOW NODES')).find((n) => n.name === 'n3')!;
    expect(n3).toMatchObject({ state: 'drained', active_backends: '0', idle_backends: '0' });
    expect(n3.drain).toMatch(/^drained in /);
    // hint node=n3 is refused while drained
    await expect(other.query('/* meridian: node=n3 */ select 1')).rejects.toMatchObject({ code: '57P03' });
    const undrain = await psqlAdmin('UNDRAIN n3');
    expect(['active', 'catching-up']).toContain(undrain[0]?.state);
    await waitFor(async () => (await psqlAdmin('SHOW NODES')).find((n) => n.name === 'n3')?.state === 'active', { timeoutMs: 10_000, what: 'n3 readmitted' });
    const { rows } = await other.query<{ port: number }>('/* meridian: node=n3 */ select inet_server_port() as port');
    expect(rows[0]?.port).toBe(port3);
    await other.end();
    await holder.end();
  });
});

describe('SHUTDOWN', () => {
  it('answers, then stops accepting clients', async () => {
    const own = await startMeridian(cluster);
    try {
      const c = new pg.Client({ host: '127.0.0.1', port: own.port, user: 'admin', password: ADMIN_PASSWORD, database: 'meridian' });
      await c.connect();
      c.on('error', () => {});
      const r = await c.query('SHUTDOWN');
      expect(r.rows[0]?.message).toMatch(/^shutting down/);
      await waitFor(() => own.m.isShuttingDown(), { timeoutMs: 5000, what: 'shutdown started' });
      const late = new pg.Client({ connectionString: own.dsn('app') });
      await expect(late.connect()).rejects.toBeDefined();
      await c.end().catch(() => {});
    } finally {
      await own.stop();
    }
  });
});
