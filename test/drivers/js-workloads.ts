// The issue 5 driver workload for node-postgres (named queries) and postgres.js (prepares by
// default): prepared reads and writes, transactions (read-write and read-only), SET search_path,
// SET TimeZone, a temp table pin, a failed transaction. Every result is checked here; each
// statement's serving port is returned for checkObservations (workload.ts).

import { expect } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import { eventually, type Observation, type WorkloadTables } from './workload.js';

const EPOCH_TEXT_TOKYO = '2020-01-01 09:00:00+09';
const EPOCH = '2020-01-01 00:00:00+00';

interface PortRow {
  port: number;
}

export async function nodePgWorkload(dsn: string, { table, schema }: WorkloadTables): Promise<Observation[]> {
  const obs: Observation[] = [];
  const c = new pg.Client(dsn);
  await c.connect();
  const q = async <R extends PortRow>(name: string, text: string, values: unknown[] = []): Promise<R> => {
    const r = await c.query<R>({ name, text, values });
    return r.rows[0]!;
  };
  const see = (step: string, kind: Observation['kind'], r: PortRow, group?: string) => obs.push({ step, kind, port: r.port, group });
  try {
    // Prepared reads and writes, autocommit.
    for (let i = 0; i < 5; i++) {
      const r = await q<PortRow & { x: number }>('r_add', 'select $1::int + 1 as x, inet_server_port() as port', [i]);
      expect(r.x).toBe(i + 1);
      see('prepared read', 'read', r);
    }
    for (let id = 1; id <= 5; id++) {
      const r = await q<PortRow & { id: number }>('w_ins', `insert into ${table}(id, v) values ($1, $2) returning id, inet_server_port() as port`, [
        id,
        `v${id}`,
      ]);
      expect(r.id).toBe(id);
      see('prepared insert', 'write', r);
    }
    const counted = await eventually('5 inserted rows on a replica', async () => {
      const r = await q<PortRow & { n: number }>('r_count', `select count(*)::int as n, inet_server_port() as port from ${table} where id <= 5`);
      see('prepared count', 'read', r);
      return r.n === 5 ? r : null;
    });
    expect(counted.n).toBe(5);

    // A read-write transaction: prepared update and read on one master.
    await c.query('begin');
    const u = await q<PortRow & { n: number }>('w_upd', `update ${table} set n = n + $1 where id = $2 returning n, inet_server_port() as port`, [10, 1]);
    expect(u.n).toBe(10);
    see('update in tx', 'write', u, 'tx1');
    const inTx = await q<PortRow & { n: number }>('r_one', `select n, inet_server_port() as port from ${table} where id = $1`, [1]);
    expect(inTx.n).toBe(10);
    see('read in write tx', 'write', inTx, 'tx1');
    await c.query('commit');
    // The statement prepared inside the transaction (on the master) now runs on a replica.
    await eventually('committed update on a replica', async () => {
      const r = await q<PortRow & { n: number }>('r_one', `select n, inet_server_port() as port from ${table} where id = $1`, [1]);
      see('prepared read after commit', 'read', r);
      return r.n === 10 ? r : null;
    });
    // A read-only transaction runs on a replica.
    await c.query('begin read only');
    for (let i = 0; i < 3; i++) see('read in read-only tx', 'read', await q('r_add', 'select $1::int + 1 as x, inet_server_port() as port', [i]), 'rotx');
    await c.query('commit');

    // SET search_path: unqualified names resolve through it on every node.
    await c.query(`set search_path = ${schema}, public`);
    for (let i = 0; i < 5; i++) {
      const r = await q<PortRow & { v: string; sp: string }>(
        'r_marker',
        "select v, current_setting('search_path') as sp, inet_server_port() as port from marker",
      );
      expect(r.v).toBe(schema);
      expect(r.sp).toBe(`${schema}, public`);
      see('marker via search_path', 'read', r);
    }
    await c.query('begin');
    const m = await q<PortRow & { v: string }>('r_marker', "select v, current_setting('search_path') as sp, inet_server_port() as port from marker");
    expect(m.v).toBe(schema);
    see('marker in write tx', 'write', m, 'tx2');
    see(
      'insert via search_path',
      'write',
      await q('w_ins', `insert into ${table}(id, v) values ($1, $2) returning id, inet_server_port() as port`, [6, 'v6']),
      'tx2',
    );
    await c.query('commit');

    // SET TimeZone: the server renders timestamptz in it, replicas and master alike.
    await c.query(`set timezone = 'Asia/Tokyo'`);
    const tzSql = `select current_setting('TimeZone') as tz, $1::timestamptz::text as t, inet_server_port() as port`;
    for (let i = 0; i < 5; i++) {
      const r = await q<PortRow & { tz: string; t: string }>('r_tz', tzSql, [EPOCH]);
      expect([r.tz, r.t]).toEqual(['Asia/Tokyo', EPOCH_TEXT_TOKYO]);
      see('timezone read', 'read', r);
    }
    await c.query('begin');
    const tzw = await q<PortRow & { tz: string; t: string }>('r_tz', tzSql, [EPOCH]);
    expect([tzw.tz, tzw.t]).toEqual(['Asia/Tokyo', EPOCH_TEXT_TOKYO]);
    see('timezone in write tx', 'write', tzw, 'tx3');
    await c.query('commit');

    // A temp table pins the session to its master backend until dropped.
    await c.query('create temp table tmp_pin(a int)');
    see('temp insert', 'write', await q('w_tmp', 'insert into tmp_pin values ($1) returning inet_server_port() as port', [1]), 'temp');
    const tc = await q<PortRow & { n: number }>('r_tmp', 'select count(*)::int as n, inet_server_port() as port from tmp_pin');
    expect(tc.n).toBe(1);
    see('temp read', 'write', tc, 'temp');
    see('plain read while pinned', 'write', await q('r_add', 'select $1::int + 1 as x, inet_server_port() as port', [1]), 'temp');
    await c.query('drop table tmp_pin');
    see('read after unpin', 'read', await q('r_add', 'select $1::int + 1 as x, inet_server_port() as port', [2]));

    // A failed transaction: the error, then 25P02 until ROLLBACK; nothing of it stays.
    await c.query('begin');
    see(
      'insert in failing tx',
      'write',
      await q('w_ins', `insert into ${table}(id, v) values ($1, $2) returning id, inet_server_port() as port`, [100, 'lost']),
      'tx4',
    );
    await expect(c.query('select 1/0')).rejects.toMatchObject({ code: '22012' });
    await expect(q('r_add', 'select $1::int + 1 as x, inet_server_port() as port', [1])).rejects.toMatchObject({ code: '25P02' });
    await c.query('rollback');
    see(
      'insert after rollback',
      'write',
      await q('w_ins', `insert into ${table}(id, v) values ($1, $2) returning id, inet_server_port() as port`, [101, 'kept']),
    );
    await eventually('row 101 without row 100', async () => {
      const r = await q<PortRow & { ids: number[] | null }>(
        'r_ids',
        `select array_agg(id order by id) as ids, inet_server_port() as port from ${table} where id >= 100`,
      );
      see('read ids', 'read', r);
      return r.ids !== null && r.ids.includes(101) ? r : null;
    }).then((r) => expect(r.ids).toEqual([101]));

    // The session's settings survived all of it, on replicas and on the master.
    for (let i = 0; i < 3; i++) {
      const r = await q<PortRow & { sp: string; tz: string }>(
        'r_settings',
        "select current_setting('search_path') as sp, current_setting('TimeZone') as tz, inet_server_port() as port",
      );
      expect([r.sp, r.tz]).toEqual([`${schema}, public`, 'Asia/Tokyo']);
      see('settings at end', 'read', r);
    }
    return obs;
  } finally {
    await c.end().catch(() => {});
  }
}

export async function postgresJsWorkload(dsn: string, { table, schema }: WorkloadTables): Promise<Observation[]> {
  const obs: Observation[] = [];
  // One connection: session settings belong to one client session.
  const sql = postgres(dsn, { max: 1, prepare: true, onnotice: () => {}, connect_timeout: 10 });
  const see = (step: string, kind: Observation['kind'], r: { port: number } | undefined, group?: string) => obs.push({ step, kind, port: r!.port, group });
  try {
    for (let i = 0; i < 5; i++) {
      const [r] = await sql`select ${i}::int + 1 as x, inet_server_port() as port`;
      expect(r!.x).toBe(i + 1);
      see('prepared read', 'read', r as never);
    }
    // Pipelined prepared reads on the one connection.
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => sql`select ${i}::int as i, inet_server_port() as port`));
    expect(many.map((r) => r[0]!.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const r of many) see('pipelined read', 'read', r[0] as never);
    // Pipelined reads and writes: each write waits for the reads ahead of it, then the master;
    // reads pipelined behind a write may ride along on its master backend (and see the write).
    const mixed = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 3 === 2
          ? sql`insert into ${sql(table)} (id, v) values (${1000 + i}, ${'pipelined'}) returning id, inet_server_port() as port`
          : sql`select ${i}::int as id, inet_server_port() as port`,
      ),
    );
    for (const [i, r] of mixed.entries()) {
      expect(r[0]!.id).toBe(i % 3 === 2 ? 1000 + i : i);
      see(i % 3 === 2 ? 'pipelined insert' : 'pipelined read', i % 3 === 2 ? 'write' : i < 2 ? 'read' : 'any', r[0] as never);
    }
    for (let id = 1; id <= 5; id++) {
      const [r] = await sql`insert into ${sql(table)} (id, v) values (${id}, ${'v' + id}) returning id, inet_server_port() as port`;
      expect(r!.id).toBe(id);
      see('prepared insert', 'write', r as never);
    }
    await eventually('5 inserted rows on a replica', async () => {
      const [r] = await sql`select count(*)::int as n, inet_server_port() as port from ${sql(table)} where id <= 5`;
      see('prepared count', 'read', r as never);
      return r!.n === 5 ? r : null;
    });

    await sql.begin(async (tx) => {
      const [u] = await tx`update ${sql(table)} set n = n + ${10} where id = ${1} returning n, inet_server_port() as port`;
      expect(u!.n).toBe(10);
      see('update in tx', 'write', u as never, 'tx1');
      const [r] = await tx`select n, inet_server_port() as port from ${sql(table)} where id = ${1}`;
      expect(r!.n).toBe(10);
      see('read in write tx', 'write', r as never, 'tx1');
    });
    await eventually('committed update on a replica', async () => {
      const [r] = await sql`select n, inet_server_port() as port from ${sql(table)} where id = ${1}`;
      see('prepared read after commit', 'read', r as never);
      return r!.n === 10 ? r : null;
    });
    await sql.begin('read only', async (tx) => {
      for (let i = 0; i < 3; i++) see('read in read-only tx', 'read', (await tx`select ${i}::int + 1 as x, inet_server_port() as port`)[0] as never, 'rotx');
    });

    await sql.unsafe(`set search_path = ${schema}, public`);
    for (let i = 0; i < 5; i++) {
      const [r] = await sql`select v, current_setting('search_path') as sp, inet_server_port() as port from marker`;
      expect([r!.v, r!.sp]).toEqual([schema, `${schema}, public`]);
      see('marker via search_path', 'read', r as never);
    }
    await sql.begin(async (tx) => {
      const [m] = await tx`select v, inet_server_port() as port from marker`;
      expect(m!.v).toBe(schema);
      see('marker in write tx', 'write', m as never, 'tx2');
      see(
        'insert via search_path',
        'write',
        (await tx`insert into ${sql(table)} (id, v) values (${6}, ${'v6'}) returning inet_server_port() as port`)[0] as never,
        'tx2',
      );
    });

    await sql.unsafe(`set timezone = 'Asia/Tokyo'`);
    for (let i = 0; i < 5; i++) {
      const [r] = await sql`select current_setting('TimeZone') as tz, ${EPOCH}::timestamptz::text as t, inet_server_port() as port`;
      expect([r!.tz, r!.t]).toEqual(['Asia/Tokyo', EPOCH_TEXT_TOKYO]);
      see('timezone read', 'read', r as never);
    }
    await sql.begin(async (tx) => {
      const [r] = await tx`select current_setting('TimeZone') as tz, ${EPOCH}::timestamptz::text as t, inet_server_port() as port`;
      expect([r!.tz, r!.t]).toEqual(['Asia/Tokyo', EPOCH_TEXT_TOKYO]);
      see('timezone in write tx', 'write', r as never, 'tx3');
    });

    await sql.unsafe('create temp table tmp_pin(a int)');
    see('temp insert', 'write', (await sql`insert into tmp_pin values (${1}) returning inet_server_port() as port`)[0] as never, 'temp');
    const [tc] = await sql`select count(*)::int as n, inet_server_port() as port from tmp_pin`;
    expect(tc!.n).toBe(1);
    see('temp read', 'write', tc as never, 'temp');
    see('plain read while pinned', 'write', (await sql`select ${1}::int + 1 as x, inet_server_port() as port`)[0] as never, 'temp');
    await sql.unsafe('drop table tmp_pin');
    see('read after unpin', 'read', (await sql`select ${2}::int + 1 as x, inet_server_port() as port`)[0] as never);

    await expect(
      sql.begin(async (tx) => {
        see(
          'insert in failing tx',
          'write',
          (await tx`insert into ${sql(table)} (id, v) values (${100}, ${'lost'}) returning inet_server_port() as port`)[0] as never,
          'tx4',
        );
        await expect(tx`select 1/0 as x`).rejects.toMatchObject({ code: '22012' });
        await expect(tx`select ${1}::int + 1 as x`).rejects.toMatchObject({ code: '25P02' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    see(
      'insert after rollback',
      'write',
      (await sql`insert into ${sql(table)} (id, v) values (${101}, ${'kept'}) returning inet_server_port() as port`)[0] as never,
    );
    const ids = await eventually('row 101 without row 100', async () => {
      const [r] = await sql`select array_agg(id order by id) as ids, inet_server_port() as port from ${sql(table)} where id >= 100 and id < 1000`;
      see('read ids', 'read', r as never);
      return r!.ids !== null && (r!.ids as number[]).includes(101) ? (r!.ids as number[]) : null;
    });
    expect(ids).toEqual([101]);

    for (let i = 0; i < 3; i++) {
      const [r] = await sql`select current_setting('search_path') as sp, current_setting('TimeZone') as tz, inet_server_port() as port`;
      expect([r!.sp, r!.tz]).toEqual([`${schema}, public`, 'Asia/Tokyo']);
      see('settings at end', 'read', r as never);
    }
    return obs;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
