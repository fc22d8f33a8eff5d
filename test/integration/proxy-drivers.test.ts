// Issue 2 acceptance through Meridian on a real node: node-postgres and postgres.js doing what
// applications do — parameters, transactions, errors with SQLSTATEs, prepared statements, COPY
// both ways, LISTEN/NOTIFY, cancel, auth methods.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sharedCluster, uniqueName, type Cluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: Cluster;
let mer: RunningMeridian;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  mer = await startMeridian(cluster);
});

afterAll(async () => {
  await mer?.stop();
});

describe('node-postgres through Meridian', () => {
  it('runs parameterised queries and reports the serving node', async () => {
    const c = new pg.Client(mer.dsn());
    await c.connect();
    try {
      const r = await c.query('select $1::int + 1 as n, inet_server_port() as port', [41]);
      expect(r.rows[0].n).toBe(42);
      expect(r.rows[0].port).toBe(cluster.nodes[0]!.port);
    } finally {
      await c.end();
    }
  });

  it('rolls back a transaction and reports errors with their SQLSTATE', async () => {
    const t = uniqueName('t');
    await cluster.exec(`create table ${t}(id int primary key)`);
    const c = new pg.Client(mer.dsn());
    await c.connect();
    try {
      await c.query('begin');
      await c.query(`insert into ${t} values (1)`);
      await c.query('rollback');
      expect((await c.query(`select count(*)::int as n from ${t}`)).rows[0].n).toBe(0);
      await c.query(`insert into ${t} values (1)`);
      await expect(c.query(`insert into ${t} values (1)`)).rejects.toMatchObject({ code: '23505' });
      await expect(c.query('select 1/0')).rejects.toMatchObject({ code: '22012' });
      await c.query('begin');
      await expect(c.query('select * from no_such_table')).rejects.toMatchObject({ code: '42P01' });
      await expect(c.query('select 1')).rejects.toMatchObject({ code: '25P02' });
      await c.query('rollback');
      expect((await c.query('select 2 as x')).rows[0].x).toBe(2);
    } finally {
      await c.end();
    }
  });

  it('runs named prepared statements many times, also across pooled backends', async () => {
    const clients = await Promise.all(
      [0, 1, 2].map(async () => {
        const c = new pg.Client(mer.dsn());
        await c.connect();
        return c;
      }),
    );
    try {
      for (let i = 0; i < 30; i++) {
        const c = clients[i % 3]!;
        const r = await c.query({ name: 'add', text: 'select $1::int + $2::int as s', values: [i, 1] });
        expect(r.rows[0].s).toBe(i + 1);
        const r2 = await c.query({ name: 'txt', text: 'select $1::text as t', values: [`v${i}`] });
        expect(r2.rows[0].t).toBe(`v${i}`);
      }
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('delivers NOTIFY to a LISTENing session', async () => {
    const listener = new pg.Client(mer.dsn());
    const sender = new pg.Client(mer.dsn());
    await listener.connect();
    await sender.connect();
    try {
      const got = new Promise<string>((resolve) => listener.on('notification', (n) => resolve(n.payload ?? '')));
      await listener.query('listen meridian_test');
      await sender.query(`notify meridian_test, 'hello'`);
      expect(await got).toBe('hello');
    } finally {
      await listener.end();
      await sender.end();
    }
  });

  it('accepts SCRAM, md5 and cleartext users and rejects a wrong password with 28P01', async () => {
    for (const u of ['app', 'md5user', 'plainuser'] as const) {
      const c = new pg.Client(mer.dsn(u));
      await c.connect();
      expect((await c.query('select current_user as u')).rows[0].u).toBe(u);
      await c.end();
    }
    const bad = new pg.Client(`postgres://app:wrong@127.0.0.1:${mer.port}/app`);
    await expect(bad.connect()).rejects.toMatchObject({ code: '28P01' });
  });
});

describe('postgres.js through Meridian', () => {
  it('runs prepared statements, transactions and reports errors', async () => {
    const sql = postgres(mer.dsn(), { max: 4, prepare: true, onnotice: () => {} });
    try {
      for (let i = 0; i < 20; i++) {
        const [r] = await sql`select ${i}::int * 2 as d, inet_server_port() as port`;
        expect(r!.d).toBe(i * 2);
        expect(r!.port).toBe(cluster.nodes[0]!.port);
      }
      const t = uniqueName('pjs');
      await sql.unsafe(`create table ${t}(id int primary key, v text)`);
      await sql.begin(async (tx) => {
        await tx`insert into ${tx(t)} values (1, 'a')`;
        await tx`insert into ${tx(t)} values (2, 'b')`;
      });
      await expect(
        sql.begin(async (tx) => {
          await tx`insert into ${tx(t)} values (3, 'c')`;
          await tx`insert into ${tx(t)} values (1, 'dup')`;
        }),
      ).rejects.toMatchObject({ code: '23505' });
      const rows = await sql`select id from ${sql(t)} order by id`;
      expect(rows.map((r) => r.id)).toEqual([1, 2]);
      // Pipelined queries from one connection all complete in order.
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => sql`select ${i}::int as i`));
      expect(many.map((r) => r[0]!.i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    } finally {
      await sql.end();
    }
  });

  it('streams COPY FROM STDIN and COPY TO STDOUT', async () => {
    const t = uniqueName('copy');
    await cluster.exec(`create table ${t}(id int, v text)`);
    const sql = postgres(mer.dsn(), { max: 1 });
    try {
      const rows = 20_000;
      const w = await sql`copy ${sql(t)} from stdin`.writable();
      await pipeline(
        Readable.from(
          (function* () {
            for (let i = 0; i < rows; i++) yield `${i}\tvalue-${i}\n`;
          })(),
        ),
        w,
      );
      const [c] = await sql`select count(*)::int as n from ${sql(t)}`;
      expect(c!.n).toBe(rows);
      let bytes = 0;
      const r = await sql`copy ${sql(t)} to stdout`.readable();
      await pipeline(
        r,
        new Writable({
          write(chunk: Buffer, _e, cb) {
            bytes += chunk.length;
            cb();
          },
        }),
      );
      expect(bytes).toBeGreaterThan(rows * 8);
    } finally {
      await sql.end();
    }
  });

  it('cancels pg_sleep(10) within a second and the session keeps working', async () => {
    const sql = postgres(mer.dsn(), { max: 1 });
    try {
      const t0 = Date.now();
      const q = sql`select pg_sleep(10)`;
      const outcome = q.then(
        () => 'finished',
        (e: { code?: string }) => e.code,
      );
      await new Promise((r) => setTimeout(r, 300));
      await q.cancel();
      expect(await outcome).toBe('57014');
      expect(Date.now() - t0).toBeLessThan(1300);
      const [r] = await sql`select 1 as x`;
      expect(r!.x).toBe(1);
    } finally {
      await sql.end();
    }
  });
});
