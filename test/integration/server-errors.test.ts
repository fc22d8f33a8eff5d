// Issue 15, items 4–8: what a client sees of the server's own errors and of the ends of a
// connection, as a direct connection shows them. A backend the server ends (FATAL) mid-request or
// idle; Terminate and EOF in every login phase; the socket after a failed login; a shared prepared
// statement whose plan DDL invalidated; PREPARE TRANSACTION after temporary objects.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import { sharedCluster, TEST_USERS, uniqueName, waitFor, type SingleCluster } from '../support/cluster.js';
import { makeSelfSignedCert } from '../support/test-pki.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { frame, startupPacket, Wire } from '../hostile/wire.js';

const TRUST_USER = `  - { name: trusty, auth: trust, backend_user: app, backend_password: "${TEST_USERS.app.password}" }`;
const TERMINATE = frame('X');

let cluster: SingleCluster;
let sess: RunningMeridian;
let txm: RunningMeridian;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  sess = await startMeridian(cluster, { pool: 'mode: session, size: 4, queue_timeout: 5s', usersYaml: TRUST_USER });
  txm = await startMeridian(cluster, { pool: 'mode: transaction, size: 2, queue_timeout: 5s', usersYaml: TRUST_USER });
});

afterAll(async () => {
  await sess?.stop();
  await txm?.stop();
});

async function client(mer: RunningMeridian, user: 'app' | 'md5user' | 'plainuser' = 'app'): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: mer.dsn(user), application_name: uniqueName('err') });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** Server pid of the backend `c` runs on (what pg_terminate_backend needs). */
async function serverPid(c: pg.Client): Promise<number> {
  const r = await c.query<{ pid: number }>('select pg_backend_pid() as pid');
  return r.rows[0]!.pid;
}

/** Resolves when pg's connection `c` has ended (its socket closed); rejects after `ms`. */
function ended(c: pg.Client, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`client connection still open after ${ms} ms`)), ms);
    c.once('end', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

describe('item 4: the server ends a backend (pg_terminate_backend)', () => {
  it('session pooling, mid-request: the FATAL reaches the client unchanged and its connection ends', async () => {
    const c = await client(sess);
    const pid = await serverPid(c);
    const done = ended(c, 10_000);
    const q = c.query('select pg_sleep(30)').then(
      () => null,
      (e: pg.DatabaseError) => e,
    );
    await waitFor(
      async () =>
        (await cluster.nodes[0]!.query(`select count(*)::int as n from pg_stat_activity where pid = ${pid} and query like '%pg_sleep(30)%'`))[0].n === 1,
      { what: 'sleep running', timeoutMs: 10_000 },
    );
    await cluster.nodes[0]!.query(`select pg_terminate_backend(${pid})`);
    const err = await q;
    console.log('session, mid-request:', err?.severity, err?.code, err?.message);
    expect(err?.code).toBe('57P01');
    expect(err?.severity).toBe('FATAL');
    expect(err?.message).toBe('terminating connection due to administrator command');
    await done;
  });

  it('session pooling, idle: the client gets the FATAL and its connection ends (pg pool error event)', async () => {
    const c = await client(sess);
    const pid = await serverPid(c);
    const errs: Error[] = [];
    c.on('error', (e) => errs.push(e));
    const done = ended(c, 10_000);
    await cluster.nodes[0]!.query(`select pg_terminate_backend(${pid})`);
    await done;
    console.log(
      'session, idle:',
      errs.map((e) => e.message),
    );
    expect(errs.map((e) => e.message)).toContain('terminating connection due to administrator command');
  });

  it("transaction pooling, mid-request: an ERROR with the server's SQLSTATE and message, and the session goes on", async () => {
    const c = await client(txm);
    // A write (no read retry): the error reaches the client.
    const t = uniqueName('term');
    await c.query(`create table ${t}(x int)`);
    const q = c.query(`insert into ${t} select 1 from pg_sleep(30)`).then(
      () => null,
      (e: pg.DatabaseError) => e,
    );
    let pid = 0;
    await waitFor(
      async () => {
        const r = await cluster.nodes[0]!.query<{ pid: number }>(`select pid from pg_stat_activity where query like 'insert into ${t}%'`);
        pid = r[0]?.pid ?? 0;
        return pid !== 0;
      },
      { what: 'insert running', timeoutMs: 10_000 },
    );
    await cluster.nodes[0]!.query(`select pg_terminate_backend(${pid})`);
    const err = await q;
    console.log('transaction, mid-request:', err?.severity, err?.code, err?.message);
    expect(err?.code).toBe('57P01');
    expect(err?.severity).toBe('ERROR');
    expect(err?.message).toBe('terminating connection due to administrator command');
    await waitFor(
      async () =>
        await c.query('select 1 as one').then(
          () => true,
          () => false,
        ),
      { what: 'session goes on', timeoutMs: 10_000 },
    );
    expect((await c.query('select 2 as two')).rows[0].two).toBe(2);
    await c.query(`drop table ${t}`);
    await c.end();
  });

  it('postgres.js, session pooling: a terminated backend ends the query as on a direct connection, and the next query gets a new one', async () => {
    async function terminated(port: number): Promise<{ code: string | undefined; again: string }> {
      const sql = postgres({ host: '127.0.0.1', port, user: 'app', password: TEST_USERS.app.password, database: 'app', max: 1, onnotice: () => {} });
      const pid = (await sql<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;
      const q = sql`select pg_sleep(30)`.then(
        () => null,
        (e: { code?: string }) => e,
      );
      await waitFor(
        async () =>
          (await cluster.nodes[0]!.query(`select count(*)::int as n from pg_stat_activity where pid = ${pid} and query like '%pg_sleep(30)%'`))[0].n === 1,
        { what: 'sleep running', timeoutMs: 10_000 },
      );
      await cluster.nodes[0]!.query(`select pg_terminate_backend(${pid})`);
      const err = await q;
      const again = await sql`select 1 as one`.then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? 'error',
      );
      await sql.end({ timeout: 1 });
      return { code: err?.code, again };
    }
    const direct = await terminated(cluster.nodes[0]!.port);
    const through = await terminated(sess.port);
    console.log('postgres.js terminated: direct', direct, 'meridian', through);
    expect(through).toEqual(direct);
  });

  it('an ErrorResponse reaches the client with every field', async () => {
    const c = await client(txm);
    const t = uniqueName('uq');
    await c.query(`create table ${t}(id int constraint ${t}_pk primary key)`);
    await c.query(`insert into ${t} values (1)`);
    const err = await c.query(`insert into ${t} values (1)`).then(
      () => null,
      (e: pg.DatabaseError) => e,
    );
    expect(err?.code).toBe('23505');
    expect(err?.detail).toBe('Key (id)=(1) already exists.');
    expect(err?.constraint).toBe(`${t}_pk`);
    expect(err?.table).toBe(t);
    expect(err?.schema).toBe('public');
    await c.query(`drop table ${t}`);
    await c.end();
  });
});

/** Raw login packets that end at once: `tail` right behind the StartupMessage, in one write. */
async function startupThen(port: number, user: string, tail: Buffer, before = false): Promise<{ codes: string; errors: string[]; closedMs: number }> {
  const w = await Wire.connect(port);
  const t0 = Date.now();
  const start = startupPacket({ user, database: 'app' });
  w.send(before ? Buffer.concat([tail, start]) : Buffer.concat([start, tail]));
  const closed = await w.closed(5000);
  const out = {
    codes: w.messages.map((m) => m.code).join(''),
    errors: w.errors().map((e) => `${e.code} ${e.message}`),
    closedMs: closed ? Date.now() - t0 : -1,
  };
  w.destroy();
  return out;
}

describe('item 5: Terminate and EOF in every login phase', () => {
  it('pg: connect() then end() at once', async () => {
    for (let i = 0; i < 5; i++) {
      const c = new pg.Client({ connectionString: sess.dsn('app') });
      const errs: string[] = [];
      c.on('error', (e) => errs.push(e.message));
      // As a direct server, Meridian closes without a word: the connect() settles or not (pg's
      // own business); nothing may say the Terminate was a bad startup packet.
      const connecting = c.connect().then(
        () => 'connected',
        (e: Error) => e.message,
      );
      await c.end();
      const got = await Promise.race([connecting, new Promise((r) => setTimeout(() => r('(connect unsettled)'), 300))]);
      console.log('pg connect+end:', got, errs);
      expect(`${got} ${errs.join(' ')}`).not.toMatch(/invalid startup packet/);
    }
  });

  it.each(['trusty', 'md5user', 'plainuser', 'app'])('StartupMessage + Terminate in one packet (%s): closed, no error', async (user) => {
    const r = await startupThen(sess.port, user, TERMINATE);
    console.log(`startup+Terminate ${user}:`, r);
    expect(r.errors).toEqual([]);
    expect(r.closedMs).toBeGreaterThanOrEqual(0);
  });

  it("Terminate before the StartupMessage (pg's end() while connecting): closed, no error", async () => {
    const r = await startupThen(sess.port, 'app', TERMINATE, true);
    console.log('Terminate+startup:', r);
    expect(r.errors).toEqual([]);
    expect(r.closedMs).toBeGreaterThanOrEqual(0);
  });

  it('EOF right after the StartupMessage and during the SASL exchange: Meridian goes on serving', async () => {
    for (const user of ['app', 'md5user']) {
      const s = net.connect({ host: '127.0.0.1', port: sess.port });
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      s.resume(); // read to the end: Meridian's FIN
      s.end(startupPacket({ user, database: 'app' }));
      await new Promise((r) => s.once('close', r));
    }
    const c = await client(sess);
    expect((await c.query('select 1 as one')).rows[0].one).toBe(1);
    await c.end();
  });
});

describe('item 6: a failed login closes the connection at once', () => {
  let tlsMer: RunningMeridian;
  beforeAll(async () => {
    const { cert, key } = makeSelfSignedCert('meridian-err-tls-');
    tlsMer = await startMeridian(cluster, {
      pool: 'mode: session, size: 2, queue_timeout: 5s',
      extraYaml: `tls: { cert: ${cert}, key: ${key}, mode: require }`,
    });
  });
  afterAll(async () => {
    await tlsMer?.stop();
  });

  it.each([
    ['app', false],
    ['md5user', false],
    ['plainuser', false],
    ['app', true],
    ['md5user', true],
  ] as const)('wrong password (%s, TLS %s) with pg: the socket closes within 500 ms', async (user, isTls) => {
    const port = isTls ? tlsMer.port : sess.port;
    const c = new pg.Client({ host: '127.0.0.1', port, user, password: 'wrong-password', database: 'app', ssl: isTls ? { rejectUnauthorized: false } : false });
    c.on('error', () => {});
    const t0 = Date.now();
    let closedAt = -1;
    const closed = new Promise<void>((resolve) => {
      const stream = (c as unknown as { connection: { stream: net.Socket } }).connection.stream;
      stream.once('close', () => {
        closedAt = Date.now();
        resolve();
      });
    });
    const err = await c.connect().then(
      () => null,
      (e: pg.DatabaseError) => e,
    );
    expect(err?.code).toBe('28P01');
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
    console.log(`wrong password ${user} (TLS ${isTls}): socket closed after ${closedAt < 0 ? 'never (5 s)' : `${closedAt - t0} ms`}`);
    expect(closedAt).toBeGreaterThan(0);
    expect(closedAt - t0).toBeLessThan(500);
  });

  it.each([false, true])(
    'pg with an empty password (it gives up inside the SCRAM exchange, TLS %s): Meridian closes at limits.auth_timeout',
    async (isTls) => {
      const port = isTls ? tlsMer.port : sess.port;
      const c = new pg.Client({
        host: '127.0.0.1',
        port,
        user: 'app',
        password: () => '',
        database: 'app',
        ssl: isTls ? { rejectUnauthorized: false } : false,
      });
      c.on('error', () => {});
      const t0 = Date.now();
      let closedAt = -1;
      const stream = (c as unknown as { connection: { stream: net.Socket } }).connection.stream;
      const closed = new Promise<void>((resolve) => stream.once('close', () => resolve(void (closedAt = Date.now()))));
      const err = await c.connect().then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/client password must be a non-empty string/);
      // pg keeps its socket open: the server ends it (PostgreSQL at authentication_timeout, 60 s).
      const tls = (c as unknown as { connection: { stream: net.Socket } }).connection.stream;
      const tlsClosed = tls === stream ? closed : new Promise<void>((resolve) => tls.once('close', () => resolve()));
      await Promise.race([Promise.all([closed, tlsClosed]), new Promise((r) => setTimeout(r, 15_000))]);
      console.log(`empty password (TLS ${isTls}): socket closed after ${closedAt < 0 ? 'never (15 s)' : `${closedAt - t0} ms`}`);
      expect(closedAt).toBeGreaterThan(0);
    },
    30_000,
  );

  it('wrong password with postgres.js: the connect fails and nothing stays open', async () => {
    const sql = postgres({ host: '127.0.0.1', port: cluster.nodes[0]!.port, user: 'app', password: 'wrong', database: 'app', max: 1, connect_timeout: 5 });
    const err = await sql`select 1`.then(
      () => null,
      (e: { code?: string }) => e,
    );
    expect(err?.code).toBe('28P01');
    await sql.end({ timeout: 1 });
  });
});

describe('item 7: shared prepared statements after DDL', () => {
  it.each(['transaction', 'session'] as const)('%s pooling: a new session re-runs a statement whose result type changed', async (mode) => {
    const mer = mode === 'session' ? sess : txm;
    const t = uniqueName('coerce');
    await cluster.nodes[0]!.query(`create table ${t}(col int); insert into ${t} values (1); grant all on ${t} to public`);
    const text = `select col from ${t}`;
    const a = await client(mer);
    expect((await a.query({ name: 'q', text })).rows[0].col).toBe(1);
    await a.end();
    await cluster.nodes[0]!.query(`alter table ${t} alter col type text`);
    const b = await client(mer);
    const got = await b.query({ name: 'q', text }).then(
      (r) => r.rows[0].col as unknown,
      (e: pg.DatabaseError) => `${e.code} ${e.message}`,
    );
    console.log(`${mode}: after DDL:`, got);
    expect(got).toBe('1');
    // And a write through a shared statement.
    const ins = `insert into ${t} values ($1) returning col`;
    expect((await b.query({ name: 'w', text: ins, values: ['2'] })).rows[0].col).toBe('2');
    await b.end();
    await cluster.nodes[0]!.query(`alter table ${t} alter col type int using col::int`);
    const d = await client(mer);
    const w = await d.query({ name: 'w', text: ins, values: ['3'] }).then(
      (r) => r.rows[0].col as unknown,
      (e: pg.DatabaseError) => `${e.code} ${e.message}`,
    );
    console.log(`${mode}: write after DDL:`, w);
    expect(w).toBe(3);
    await d.end();
    await cluster.nodes[0]!.query(`drop table ${t}`);
    // A refusal that is no stale plan comes back the same after the replay: the client gets it once.
    const e = await client(mer);
    const gone = await e.query({ name: 'q', text }).then(
      () => null,
      (x: pg.DatabaseError) => x,
    );
    console.log(`${mode}: dropped table:`, gone?.code, gone?.message);
    expect(gone?.code).toBe('42P01');
    expect((await e.query('select 7 as seven')).rows[0].seven).toBe(7);
    await e.end();
  });
});

/** The two-phase part of PostgreSQL's `temp` regression test, statement by statement. */
const TEMP_2PC = [
  'begin',
  "create function pg_temp.twophase_func() returns void as $$ select '2pc_func'::text $$ language sql",
  "prepare transaction 'twophase_func'",
  "create function pg_temp.twophase_func() returns void as $$ select '2pc_func'::text $$ language sql",
  'begin',
  'drop function pg_temp.twophase_func()',
  "prepare transaction 'twophase_func'",
  'begin',
  'create operator pg_temp.@@ (leftarg = int4, rightarg = int4, procedure = int4mi)',
  "prepare transaction 'twophase_operator'",
  'begin',
  'create type pg_temp.twophase_type as (a int)',
  "prepare transaction 'twophase_type'",
  'begin',
  'create view pg_temp.twophase_view as select 1',
  "prepare transaction 'twophase_view'",
  'begin',
  'create sequence pg_temp.twophase_seq',
  "prepare transaction 'twophase_sequence'",
  'create temp table twophase_tab (a int)',
  'begin',
  'select a from twophase_tab',
  "prepare transaction 'twophase_tab'",
  'begin',
  'insert into twophase_tab values (1)',
  "prepare transaction 'twophase_tab'",
  'begin',
  'lock twophase_tab in access exclusive mode',
  "prepare transaction 'twophase_tab'",
  'begin',
  'drop table twophase_tab',
  "prepare transaction 'twophase_tab'",
];

async function runEach(dsn: string, sqls: readonly string[]): Promise<string[]> {
  const c = new pg.Client(dsn);
  c.on('error', () => {});
  await c.connect();
  const out: string[] = [];
  for (const q of sqls)
    out.push(
      await c.query(q).then(
        () => 'ok',
        (e: pg.DatabaseError) => `${e.code} ${e.message}`,
      ),
    );
  await c.end();
  return out;
}

describe('item 8: PREPARE TRANSACTION after temporary objects', () => {
  it('the two-phase statements of the temp regression test answer as directly, in both pooling modes', async () => {
    const direct = await runEach(cluster.nodes[0]!.connectionString('app'), TEMP_2PC);
    expect(direct.filter((r) => r.startsWith('0A000')).length).toBe(10);
    for (const mer of [sess, txm]) expect(await runEach(mer.dsn('app'), TEMP_2PC)).toEqual(direct);
  });

  it.each(['transaction', 'session'] as const)('%s pooling: 0A000 as directly', async (mode) => {
    const mer = mode === 'session' ? sess : txm;
    const c = await client(mer);
    const err = await c.query("begin; create temp table tt(); prepare transaction 'x'").then(
      () => null,
      (e: pg.DatabaseError) => e,
    );
    console.log(`${mode}: prepare transaction:`, err?.code, err?.message);
    expect(err?.code).toBe('0A000');
    expect(err?.message).toBe('cannot PREPARE a transaction that has operated on temporary objects');
    await c.end();
  });

  // Known difference, documented in README (errors): a backend's temporary schema outlives its
  // session, so on a reused backend current_schema() under search_path pg_temp creates nothing and
  // PREPARE TRANSACTION is refused for another reason (55000 here, prepared transactions being off).
  // The fix belongs to the session-end reset (close a backend whose pg_my_temp_schema() is set);
  // until then this test is expected to fail — turn it into `it` with that fix.
  it('session pooling: a new session whose search_path is pg_temp creates its temp schema, as on a new server session', async () => {
    const a = await client(sess);
    const pidA = await serverPid(a);
    await a.query('create temp table tt_before(x int); drop table tt_before');
    await a.end();
    const c = await client(sess);
    console.log('same backend:', pidA === (await serverPid(c)));
    await c.query("set search_path to 'pg_temp'");
    await c.query('begin');
    await c.query('select current_schema()');
    const err = await c.query("prepare transaction 'twophase_search'").then(
      () => null,
      (e: pg.DatabaseError) => e,
    );
    console.log('session: search_path pg_temp:', err?.code, err?.message);
    expect(err?.code).toBe('0A000');
    await c.end();
  });
});
