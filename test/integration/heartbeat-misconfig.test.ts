// Issue 14, finding 17, on the shared pglogical cluster (pglogical lives in database `app`): with
// health.database pointing at `postgres`, where pglogical is not installed, init-heartbeat exits
// non-zero naming health.database; a heartbeat table left there (as the old init-heartbeat made
// it) never replicates, so lag is unknown on every node. Meridian still serves reads, at the
// nearest master (where writes go), and SHOW NODES, /nodes' data and the log name the cause.
// Our own table in database postgres (unique name), dropped at the end; nothing shared is touched.

import pg from 'pg';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttp } from '../../src/admin/http.js';
import { parseConfigText } from '../../src/config/load-config.js';
import type { MeridianConfig } from '../../src/config/types.js';
import { runInitHeartbeat } from '../../src/health/init-heartbeat-command.js';
import { Meridian } from '../../src/server.js';
import { ADMIN_PASSWORD, meridianYaml } from '../helpers/meridian.js';
import { sharedCluster, TEST_USERS, uniqueName, waitFor, type PglogicalCluster } from '../support/cluster.js';

const TABLE = uniqueName('meridian_hb_misconfig');
let cluster: PglogicalCluster;
let cfg: MeridianConfig;
let m: Meridian | null = null;
let port = 0;
const logLines: { msg: string; problem?: string; problems?: string[] }[] = [];

/** Runs SQL as the superuser in database postgres of every node. */
async function onPostgresDb(sql: string): Promise<void> {
  for (const n of cluster.nodes) {
    const c = new pg.Client({ host: n.host, port: n.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  }
}

beforeAll(async () => {
  cluster = (await sharedCluster('pglogical')) as PglogicalCluster;
  const yaml = meridianYaml(cluster, { kind: 'pglogical' }).replace(/database: app \}/, `database: postgres, heartbeat_table: ${TABLE} }`);
  expect(yaml).toContain(`heartbeat_table: ${TABLE}`);
  cfg = parseConfigText(yaml, 'misconfig.yaml');
});

afterAll(async () => {
  await m?.stop(2000);
  if (cluster !== undefined) await onPostgresDb(`DROP TABLE IF EXISTS ${TABLE}`).catch(() => {});
});

describe('pglogical with health.database where pglogical is not installed', () => {
  it('init-heartbeat exits non-zero, names health.database, and creates nothing', async () => {
    const out: string[] = [];
    const code = await runInitHeartbeat(cfg, { write: (t: string) => out.push(t) > 0 });
    const text = out.join('');
    console.log(`init-heartbeat exit ${code}:\n${text}`);
    expect(code).toBe(1);
    expect(text).toMatch(/pglogical is not installed in database "postgres" \(health\.database\)/);
    expect(text).toMatch(/Set health\.database to the database where pglogical is installed/);
    const c = new pg.Client({ host: cluster.nodes[0]!.host, port: cluster.nodes[0]!.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    try {
      expect((await c.query(`SELECT to_regclass('${TABLE}') AS t`)).rows[0]?.t).toBeNull();
    } finally {
      await c.end();
    }
  });

  it('Meridian serves reads at the nearest master and SHOW NODES names the cause', async () => {
    // The table the old init-heartbeat left behind: present on every node, replicated nowhere.
    await onPostgresDb(`CREATE TABLE IF NOT EXISTS ${TABLE} (node text PRIMARY KEY, ts timestamptz NOT NULL)`);
    const sink = new Writable({
      write(chunk, _e, done) {
        logLines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    m = new Meridian(cfg, { logger: pino({ level: 'info' }, sink) });
    ({ port } = await m.start());
    const t0 = Date.now();
    await waitFor(() => m!.health.snapshot.nodes.every((n) => n.isUp && n.role === 'master'), { what: 'every node up as a master' });
    await new Promise((r) => setTimeout(r, 1000)); // several probe intervals: lag would be known by now
    expect(m.health.snapshot.nodes.map((n) => n.lagMs)).toEqual(cluster.nodes.map(() => null));

    const app = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: TEST_USERS.app.password, database: 'app' });
    app.on('error', () => {});
    await app.connect();
    try {
      const read = await app.query<{ port: number }>('select inet_server_port() as port');
      const write = await app.query<{ port: number }>('/* meridian: route=master */ select inet_server_port() as port');
      expect(read.rows[0]?.port).toBe(write.rows[0]?.port);
    } finally {
      await app.end();
    }
    await waitFor(() => m!.health.readsFollowWrites, { what: 'reads follow writes (logged)', timeoutMs: 30_000 });
    console.log(`reads follow writes reported after ${Date.now() - t0} ms (health.interval 200 ms)`);

    const admin = new pg.Client({ host: '127.0.0.1', port, user: 'admin', password: ADMIN_PASSWORD, database: 'meridian' });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ name: string; lag_source: string; problem: string | null }>('show nodes');
      expect(rows).toHaveLength(cluster.nodes.length);
      for (const r of rows) {
        expect(r.lag_source).toBe('heartbeat');
        expect(r.problem).toMatch(/pglogical is not installed in database "postgres" \(health\.database\)/);
      }
      console.log(`SHOW NODES problem: ${rows[0]?.problem}`);
    } finally {
      await admin.end();
    }
    // GET /nodes: the same rows as JSON.
    m.config = Object.freeze({
      ...m.config,
      admin: { ...m.config.admin, http: { host: '127.0.0.1', port: 0, token: 'misconfig-test-token', allowedHosts: [] } },
    });
    const api = await startHttp(m.admin);
    try {
      const r = await fetch(`http://127.0.0.1:${api.port}/nodes`, { headers: { authorization: 'Bearer misconfig-test-token' } });
      const body = (await r.json()) as { nodes: { lag_source: string; problem: string | null }[] };
      expect(body.nodes.map((n) => n.lag_source)).toEqual(cluster.nodes.map(() => 'heartbeat'));
      for (const n of body.nodes) expect(n.problem).toMatch(/\(health\.database\)/);
    } finally {
      await api.close();
    }
    const warnings = logLines.filter((l) => l.msg === 'lag cannot be measured');
    expect(warnings).toHaveLength(cluster.nodes.length); // once per node, not once per probe
    expect(logLines.filter((l) => l.msg.startsWith('lag unknown on every node'))).toHaveLength(1);
    expect(await m.metrics.text()).toMatch(/^meridian_reads_follow_writes 1$/m);
  });
});
