// Issue 5 acceptance: session settings in transaction pooling, on primary + 2 standbys and on the
// 3-node pglogical cluster. One session's SETs survive 100 transactions spread over backends and
// nodes while other sessions with other settings churn the same small pools (and its
// ParameterStatus view never flips to theirs); SET LOCAL and a rolled-back SET leave nothing; 50
// concurrent sessions with different search_paths never see each other's.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import { sharedCluster, uniqueName, type Cluster, type PhysicalCluster } from '../support/cluster.js';
import type { RunningMeridian } from '../helpers/meridian.js';
import { nodeNameOfPort, startSessionMeridian } from '../drivers/workload.js';

type Kind = 'physical' | 'pglogical';

const CHECK_SQL = `select current_setting('search_path') as sp, current_setting('TimeZone') as tz,
  current_setting('application_name') as app, current_setting('DateStyle') as ds,
  current_setting('statement_timeout') as st, current_setting('myapp.tenant', true) as tenant,
  current_setting('work_mem') as wm, (select v from marker) as marker,
  pg_backend_pid() as pid, inet_server_port() as port`;

interface CheckRow {
  sp: string;
  tz: string;
  app: string;
  ds: string;
  st: string;
  tenant: string | null;
  wm: string;
  marker: string;
  pid: number;
  port: number;
}

/** Schemas with a `marker(v)` table whose one row names the schema (on every node). */
async function createMarkerSchemas(cluster: Cluster, n: number): Promise<string[]> {
  const schemas = Array.from({ length: n }, () => uniqueName('sp'));
  await cluster.exec(
    schemas
      .map(
        (s) => `create schema ${s}; create table ${s}.marker(v text); insert into ${s}.marker values ('${s}');
    grant usage on schema ${s} to public; grant select on ${s}.marker to public;`,
      )
      .join('\n'),
  );
  if (cluster.kind === 'physical') await (cluster as PhysicalCluster).waitReplayed(60_000);
  return schemas;
}

/** Sessions with settings of their own that keep the pools' backends busy and changing. */
function startChurn(mer: RunningMeridian, n: number): { stop(): Promise<number> } {
  let isStopped = false;
  let done = 0;
  const loops = Array.from({ length: n }, async (_, i) => {
    // The same user as the sessions under test: the same pools, so their backends move around.
    const c = new pg.Client({ connectionString: mer.dsn(), application_name: `churn-${i}` });
    await c.connect();
    try {
      await c.query(
        `set timezone = 'UTC'; set datestyle = 'SQL, MDY'; set search_path = public; set statement_timeout = '${10 + i}s'; set work_mem = '${1 + i}MB'`,
      );
      while (!isStopped) {
        if (done % 2 === 0) {
          await c.query('begin');
          await c.query({ name: 'churn', text: 'select pg_sleep(0.005), current_setting($1) as tz', values: ['TimeZone'] });
          await c.query('commit');
        } else {
          const r = await c.query({ name: 'churn', text: 'select pg_sleep(0.005), current_setting($1) as tz', values: ['TimeZone'] });
          expect(r.rows[0].tz).toBe('UTC');
        }
        done++;
      }
    } finally {
      await c.end().catch(() => {});
    }
  });
  const all = Promise.all(loops);
  return {
    async stop() {
      isStopped = true;
      await all;
      return done;
    },
  };
}

describe.each<Kind>(['physical', 'pglogical'])('session settings on %s', (kind) => {
  let cluster: Cluster;
  let mer: RunningMeridian;

  beforeAll(async () => {
    cluster = await sharedCluster(kind);
    // Small pools: sessions share backends constantly, so every settings sync is exercised.
    mer = await startSessionMeridian(cluster, 'mode: transaction, size: 3, queue_timeout: 30s');
  });

  afterAll(async () => {
    await mer?.stop();
  });

  it("a session's SETs survive 100 transactions spread across backends and nodes; SET LOCAL and rolled-back SETs do not stick", async () => {
    const [schema] = await createMarkerSchemas(cluster, 1);
    const table = uniqueName('st');
    await cluster.exec(
      `create table ${table}(id serial primary key, tz text); grant all on ${table} to public; grant all on sequence ${table}_id_seq to public`,
    );
    if (kind === 'physical') await (cluster as PhysicalCluster).waitReplayed(60_000);
    const seen: Array<[string, string]> = [];
    const sql = postgres(mer.dsn(), { max: 1, onnotice: () => {}, onparameter: (k, v) => seen.push([k, v]), connect_timeout: 10 });
    const churn = startChurn(mer, 4);
    const backends = new Set<string>();
    const nodes = new Map<string, number>();
    try {
      const [before] = await sql`select current_setting('work_mem') as wm`;
      await sql.unsafe(`set search_path = ${schema}, public`);
      await sql.unsafe(`set timezone = 'Asia/Tokyo'`);
      await sql.unsafe(`set application_name = 'main-session'`);
      await sql.unsafe(`set datestyle = 'German, DMY'`);
      await sql.unsafe(`set statement_timeout = '45s'`);
      await sql.unsafe(`set myapp.tenant = 'acme'`);
      const want = {
        sp: `${schema}, public`,
        tz: 'Asia/Tokyo',
        app: 'main-session',
        ds: 'German, DMY',
        st: '45s',
        tenant: 'acme',
        wm: before!.wm as string,
        marker: schema,
      };
      const settingsAfterSets = seen.length;
      const check = (r: CheckRow, what: string, override: Partial<typeof want> = {}) => {
        const { pid, port, ...got } = r;
        expect(got, `${what} on ${nodeNameOfPort(cluster, port)} pid ${pid}`).toEqual({ ...want, ...override });
        backends.add(`${port}/${pid}`);
        const node = nodeNameOfPort(cluster, port);
        nodes.set(node, (nodes.get(node) ?? 0) + 1);
      };
      for (let i = 0; i < 100; i++) {
        if (i % 3 === 0) {
          check((await sql.unsafe(CHECK_SQL))[0] as unknown as CheckRow, `autocommit read ${i}`);
        } else if (i % 3 === 1) {
          await sql.begin('read only', async (tx) => check((await tx.unsafe(CHECK_SQL))[0] as unknown as CheckRow, `read-only tx ${i}`));
        } else {
          await sql.begin(async (tx) => {
            await tx`insert into ${sql(table)} (tz) values (current_setting('TimeZone'))`;
            if (i % 10 === 2) {
              await tx.unsafe(`set local statement_timeout = '1s'`);
              check((await tx.unsafe(CHECK_SQL))[0] as unknown as CheckRow, `write tx ${i} after SET LOCAL`, { st: '1s' });
            } else {
              check((await tx.unsafe(CHECK_SQL))[0] as unknown as CheckRow, `write tx ${i}`);
            }
          });
        }
        if (i % 25 === 24) {
          // A SET inside a transaction that rolls back is undone.
          await expect(
            sql.begin(async (tx) => {
              await tx.unsafe(`set work_mem = '7MB'`);
              expect((await tx`select current_setting('work_mem') as wm`)[0]!.wm).toBe('7MB');
              throw new Error('roll back');
            }),
          ).rejects.toThrow('roll back');
        }
      }
      // Every row the session wrote carries its TimeZone, whatever backend ran the insert.
      const [bad] = await sql`select count(*)::int as n, count(*) filter (where tz = 'Asia/Tokyo')::int as ok from ${sql(table)}`;
      expect(bad!.ok).toBe(bad!.n);
      console.log(`${kind}: 100 transactions on ${backends.size} backends; nodes ${JSON.stringify(Object.fromEntries(nodes))}`);
      expect(backends.size, 'backends used (more than one per node on some node)').toBeGreaterThanOrEqual(4);
      if (kind === 'physical') {
        expect(nodes.get((cluster as PhysicalCluster).primary.name) ?? 0).toBeGreaterThan(0);
        expect(nodes.size).toBeGreaterThanOrEqual(2);
      }
      // ParameterStatus: the client saw its own values, and nothing of the churning sessions'.
      const later = seen.slice(settingsAfterSets);
      expect(
        later.filter(
          ([k, v]) =>
            (k === 'TimeZone' && v !== 'Asia/Tokyo') || (k === 'application_name' && v !== 'main-session') || (k === 'DateStyle' && v !== 'German, DMY'),
        ),
      ).toEqual([]);
      expect(sql.parameters.TimeZone).toBe('Asia/Tokyo');
      expect(sql.parameters.application_name).toBe('main-session');
      expect(sql.parameters.DateStyle).toBe('German, DMY');
      // A SET inside a committed transaction sticks, everywhere.
      await sql.begin(async (tx) => {
        await tx.unsafe(`set myapp.tenant = 'globex'`);
      });
      for (let i = 0; i < 6; i++) {
        const r = (i % 2 === 0 ? (await sql.unsafe(CHECK_SQL))[0] : (await sql.begin(async (tx) => tx.unsafe(CHECK_SQL)))[0]) as unknown as CheckRow;
        expect(r.tenant, `committed SET, request ${i} on ${nodeNameOfPort(cluster, r.port)}`).toBe('globex');
      }
      // RESET returns to the default, RESET ALL to the session's start-up values.
      await sql.unsafe('reset timezone');
      const defaultTz = (await cluster.nodes[0]!.query<{ tz: string }>(`select current_setting('TimeZone') as tz`))[0]!.tz;
      for (let i = 0; i < 5; i++) expect((await sql`select current_setting('TimeZone') as tz`)[0]!.tz).toBe(defaultTz);
      await sql.unsafe('reset all');
      for (let i = 0; i < 5; i++) {
        const [r] =
          await sql`select current_setting('search_path') as sp, current_setting('myapp.tenant', true) as tenant, current_setting('application_name') as app`;
        expect([r!.sp, r!.tenant ?? '']).toEqual(['"$user", public', '']);
      }
    } finally {
      const churned = await churn.stop();
      await sql.end({ timeout: 5 });
      console.log(`${kind}: churn sessions ran ${churned} requests`);
    }
  }, 180_000);

  it('SET ROLE follows the session to every node; RESET ALL keeps it (as PostgreSQL does), RESET ROLE ends it', async () => {
    const role = uniqueName('role');
    await cluster.exec(`create role ${role} nologin; grant ${role} to app`);
    if (kind === 'physical') await (cluster as PhysicalCluster).waitReplayed(60_000);
    const c = new pg.Client(mer.dsn());
    await c.connect();
    const churn = startChurn(mer, 2);
    const users = async () => {
      const seen = new Set<string>();
      for (const n of cluster.nodes) {
        seen.add((await c.query(`/* meridian: node=${n.name} */ select current_user as u`)).rows[0].u as string);
        await c.query('begin');
        seen.add((await c.query('select current_user as u')).rows[0].u as string);
        await c.query('commit');
      }
      return [...seen];
    };
    try {
      await c.query(`set role ${role}`);
      expect(await users()).toEqual([role]);
      await c.query(`set timezone = 'Asia/Tokyo'`);
      await c.query('reset all');
      expect(await users(), 'after RESET ALL').toEqual([role]);
      expect((await c.query(`select current_setting('TimeZone') as tz`)).rows[0].tz).not.toBe('Asia/Tokyo');
      await c.query('reset role');
      expect(await users()).toEqual(['app']);
    } finally {
      await churn.stop();
      await c.end();
      await cluster.exec(`drop role ${role}`);
    }
  }, 120_000);

  it("50 concurrent sessions with different search_paths never see each other's", async () => {
    const schemas = await createMarkerSchemas(cluster, 5);
    const table = uniqueName('sp');
    await cluster.exec(`create table ${table}(sess int, sp text, port int); grant all on ${table} to public`);
    if (kind === 'physical') await (cluster as PhysicalCluster).waitReplayed(60_000);
    const sessions = 50;
    const rounds = 12;
    const clients = await Promise.all(
      Array.from({ length: sessions }, async () => {
        const c = new pg.Client(mer.dsn());
        await c.connect();
        return c;
      }),
    );
    const backendsPerSession: Array<Set<string>> = [];
    try {
      await Promise.all(
        clients.map(async (c, i) => {
          const schema = schemas[i % schemas.length]!;
          const own = `x_${i}, ${schema}`;
          const used = new Set<string>();
          backendsPerSession[i] = used;
          await c.query(`set search_path = x_${i}, ${schema}`);
          for (let r = 0; r < rounds; r++) {
            const step = (r + i) % 3;
            if (step === 1) await c.query('begin read only');
            if (step === 2) await c.query('begin');
            const q = await c.query({
              name: 'who',
              text: `select current_setting('search_path') as sp, (select v from marker) as v, pg_backend_pid() as pid, inet_server_port() as port`,
            });
            const row = q.rows[0] as { sp: string; v: string; pid: number; port: number };
            expect([row.sp, row.v], `session ${i} round ${r}`).toEqual([own, schema]);
            used.add(`${row.port}/${row.pid}`);
            if (step === 2) {
              await c.query({ name: 'note', text: `insert into public.${table} values ($1, current_setting('search_path'), inet_server_port())`, values: [i] });
            }
            if (step !== 0) await c.query('commit');
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
    }
    // What the sessions wrote, read on the master(s): each row carries its own session's path.
    const rows = (
      await Promise.all(
        cluster.nodes
          .filter((n) => kind === 'pglogical' || n.name === (cluster as PhysicalCluster).primary.name)
          .map((n) => n.query<{ sess: number; sp: string }>(`select sess, sp from ${table}`)),
      )
    ).flat();
    expect(rows.length).toBe(sessions * 4);
    for (const r of rows) expect(r.sp, `row of session ${r.sess}`).toBe(`x_${r.sess}, ${schemas[r.sess % schemas.length]}`);
    const all = new Set(backendsPerSession.flatMap((s) => [...s]));
    const shared = backendsPerSession.filter((s) => s.size > 1).length;
    console.log(`${kind}: ${sessions} sessions used ${all.size} backends in all; ${shared} sessions ran on more than one backend`);
    // Backends were shared across sessions (the pools hold at most 3 per node).
    expect(all.size).toBeLessThanOrEqual(3 * cluster.nodes.length);
    expect(shared).toBeGreaterThan(sessions / 2);
  }, 180_000);
});
