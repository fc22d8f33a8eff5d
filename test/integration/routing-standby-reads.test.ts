// Reads on a primary with two streaming standbys, through Meridian, asserting the node that served
// each statement (inet_server_port()):
//  * at equal lag and proximity, sequential reads from idle sessions spread over both standbys
//    (regression: all went to the first standby in config order);
//  * `begin; set transaction read only; select …` in one simple Query runs on a standby, and a
//    write in it fails exactly as on the primary (25006); what a hot standby refuses
//    (SERIALIZABLE) goes to the primary; a session default of read-only is not a reason to read
//    a BEGIN's transaction from a standby;
//  * a session whose default isolation is SERIALIZABLE reads from the primary (a hot standby
//    refuses its autocommit reads too), until RESET / DISCARD ALL / another default.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sharedCluster, uniqueName, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: PhysicalCluster;
let mer: RunningMeridian;
let table: string;
const clients: pg.Client[] = [];

const nodeOf = (port: number) => cluster.nodes.find((n) => n.port === Number(port))?.name ?? `port ${port}`;
const lags = () => mer.m.health.snapshot.nodes.map((n) => `${n.name}:${n.role}:lag ${n.lagMs}:rtt ${n.rttMs}`).join(' ');

async function connect(dsn: string): Promise<pg.Client> {
  const c = new pg.Client(dsn);
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
}

/** The node that ran the last statement of `sql` (which must end with `select inet_server_port() as p`). */
async function servedBy(c: pg.Client, sql: string): Promise<string> {
  const r = (await c.query(sql)) as pg.QueryResult | pg.QueryResult[];
  const last = Array.isArray(r) ? r[r.length - 1]! : r;
  return nodeOf(last.rows[0].p);
}

/** What the client sees for one statement: rows' command tag, or the error's fields. */
async function outcome(c: pg.Client, sql: string): Promise<string> {
  try {
    const r = (await c.query(sql)) as pg.QueryResult | pg.QueryResult[];
    return (Array.isArray(r) ? r : [r]).map((x) => x.command).join(',');
  } catch (e) {
    const err = e as { code?: string; severity?: string; message: string };
    return `${err.severity} ${err.code}: ${err.message}`;
  }
}

beforeAll(async () => {
  cluster = await sharedCluster('physical');
  table = uniqueName('sr');
  await cluster.exec(`create table ${table}(id int primary key); grant all on ${table} to public`);
  await cluster.waitReplayed(60_000);
  // Equal lag: both standbys replay the primary; lag_tolerance absorbs the blips of other test
  // files writing to the shared cluster. Proximity: both on loopback (probe RTT well inside the
  // 1 ms proximity tolerance).
  mer = await startMeridian(cluster, {
    kind: 'physical',
    extraYaml: 'routing: { lag_tolerance: 1s, max_read_lag: 10s, write_wait: 3s }',
  });
  await waitFor(() => mer.m.health.snapshot.nodes.every((n) => n.isUp && n.lagMs !== null && n.rttMs !== null), {
    timeoutMs: 60_000,
    what: () => `all nodes probed with lag and rtt (${lags()})`,
  });
});

/**
 * Equal proximity, the premise of spreading: the standbys' smoothed RTTs within the router's 1 ms
 * proximity tolerance (with margin). Right after start the minimum filter holds only a few probes,
 * some slowed by a busy host; it settles within a few probe intervals.
 */
async function equalProximity(): Promise<void> {
  await waitFor(
    () => {
      const [s1, s2] = ['s1', 's2'].map((n) => mer.m.health.snapshot.byName.get(n)?.rttMs ?? Infinity) as [number, number];
      return Math.abs(s1 - s2) < 0.5;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: () => `standby RTTs within 0.5 ms (${lags()})` },
  );
}

/** Both standbys' lags well inside lag_tolerance (1 s), so neither is avoided for lag. */
async function equalLag(): Promise<void> {
  await waitFor(() => ['s1', 's2'].every((n) => (mer.m.health.snapshot.byName.get(n)?.lagMs ?? Infinity) < 300), {
    timeoutMs: 30_000,
    intervalMs: 50,
    what: () => `standby lags below 300 ms (${lags()})`,
  });
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
  await mer?.stop();
  await cluster?.exec(`drop table if exists ${table}`).catch(() => {});
});

describe('reads spread over equal standbys', () => {
  it('6 sessions, one autocommit read each, idle in between: both standbys serve, the primary none', async () => {
    // On a loaded host a standby's RTT can drift past the 1 ms tolerance while the sessions run, and
    // then reads rightly prefer the nearer one: sample again (up to 3 times) when the premise broke.
    let served: string[] = [];
    const count = (n: string) => served.filter((s) => s === n).length;
    for (let attempt = 0; attempt < 3; attempt++) {
      await equalProximity();
      await equalLag();
      served = [];
      for (let i = 0; i < 6; i++) {
        const c = await connect(mer.dsn()); // stays connected and idle, as in the benchmark
        served.push(await servedBy(c, 'select inet_server_port() as p'));
      }
      if (count('s1') >= 2 && count('s2') >= 2) break;
    }
    expect(count('primary'), `served ${served.join(',')}; ${lags()}`).toBe(0);
    expect(count('s1'), `served ${served.join(',')}; ${lags()}`).toBeGreaterThanOrEqual(2);
    expect(count('s2'), `served ${served.join(',')}; ${lags()}`).toBeGreaterThanOrEqual(2);
  });

  it('one session’s sequential reads spread too', async () => {
    const c = await connect(mer.dsn());
    // Other test files write to this cluster: a standby may lag past lag_tolerance for a moment,
    // and then reads rightly avoid it. Sample again (up to 3 times) once both are level.
    let served = new Set<string>();
    for (let attempt = 0; attempt < 3 && served.size < 2; attempt++) {
      await equalProximity();
      await equalLag();
      served = new Set<string>();
      for (let i = 0; i < 6; i++) served.add(await servedBy(c, 'select inet_server_port() as p'));
    }
    expect([...served].sort(), lags()).toEqual(['s1', 's2']);
  });
});

describe('read-only transactions begun in one simple Query', () => {
  it('begin; set transaction read only; select … runs on a standby; a write in it fails as on the primary', async () => {
    const steps = ['begin; set transaction read only; select 1 as one', `insert into ${table} values (1)`, 'select 1', 'rollback'];
    const direct = await connect(cluster.primary.connectionString('app'));
    const expected: string[] = [];
    for (const sql of steps) expected.push(await outcome(direct, sql));
    expect(expected[1]).toMatch(/^ERROR 25006: cannot execute INSERT in a read-only transaction$/);

    const c = await connect(mer.dsn());
    const got: string[] = [await outcome(c, steps[0]!)];
    const node = await servedBy(c, 'select inet_server_port() as p');
    for (const sql of steps.slice(1)) got.push(await outcome(c, sql));
    expect(node, lags()).toMatch(/^s[12]$/);
    expect(got).toEqual(expected);
    // The session is usable afterwards, and the table is untouched.
    expect(Number((await c.query(`select count(*) as n from ${table}`)).rows[0].n)).toBe(0);
  });

  it('BEGIN; SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; … runs on a standby', async () => {
    const c = await connect(mer.dsn());
    const node = await servedBy(c, 'BEGIN; SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; select inet_server_port() as p');
    expect(node, lags()).toMatch(/^s[12]$/);
    expect((await c.query('show transaction_isolation')).rows[0].transaction_isolation).toBe('repeatable read');
    await c.query('commit');
  });

  it('a SERIALIZABLE read-only transaction runs on the primary, because a hot standby refuses it', async () => {
    const standby = await connect(cluster.node('s1').connectionString('app'));
    await expect(standby.query('BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY; select 1')).rejects.toMatchObject({ code: '0A000' });
    await standby.query('rollback');

    const c = await connect(mer.dsn());
    expect(await servedBy(c, 'BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY; select inet_server_port() as p')).toBe('primary');
    await c.query('commit');
    expect(await servedBy(c, 'BEGIN; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY; select inet_server_port() as p')).toBe('primary');
    await c.query('commit');
  });

  it('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY: later BEGINs still go to the primary, where PostgreSQL applies the default', async () => {
    const c = await connect(mer.dsn());
    await c.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
    // Why the default is not honoured for routing: a standby refuses this, the primary does not.
    await c.query('begin');
    await c.query('set transaction read write');
    expect(await servedBy(c, `insert into ${table} values (2) returning inet_server_port() as p`)).toBe('primary');
    await c.query('commit');
    // The default itself still holds, enforced by PostgreSQL on the node that runs the transaction.
    expect(await servedBy(c, 'begin; select inet_server_port() as p')).toBe('primary');
    await expect(c.query(`insert into ${table} values (3)`)).rejects.toMatchObject({ code: '25006' });
    await c.query('rollback');
    // Autocommit reads still go to a standby.
    expect(await servedBy(c, 'select inet_server_port() as p'), lags()).toMatch(/^s[12]$/);
    await c.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE');
    expect(await servedBy(c, `insert into ${table} values (4) returning inet_server_port() as p`)).toBe('primary');
  });
});

describe('a session whose default isolation is SERIALIZABLE', () => {
  it('a hot standby refuses even its autocommit reads, so they run on the primary', async () => {
    const standby = await connect(cluster.node('s1').connectionString('app'));
    await standby.query('set default_transaction_isolation = serializable');
    await expect(standby.query('select 1')).rejects.toMatchObject({ code: '0A000' });

    const c = await connect(mer.dsn());
    expect(await servedBy(c, 'select inet_server_port() as p'), lags()).toMatch(/^s[12]$/);
    await c.query("SET default_transaction_isolation TO 'serializable'");
    for (let i = 0; i < 3; i++) expect(await servedBy(c, 'select inet_server_port() as p')).toBe('primary');
    expect(await servedBy(c, 'begin read only; select inet_server_port() as p')).toBe('primary');
    expect((await c.query('show transaction_isolation')).rows[0].transaction_isolation).toBe('serializable');
    await c.query('commit');
    await c.query('RESET default_transaction_isolation');
    expect(await servedBy(c, 'select inet_server_port() as p'), lags()).toMatch(/^s[12]$/);
  });

  it('from SET SESSION CHARACTERISTICS and from a startup option too; DISCARD ALL goes back to the startup value', async () => {
    const c = await connect(mer.dsn());
    await c.query('SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE');
    expect(await servedBy(c, 'select inet_server_port() as p')).toBe('primary');
    await c.query('SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    expect(await servedBy(c, 'select inet_server_port() as p'), lags()).toMatch(/^s[12]$/);

    const opt = await connect(`${mer.dsn()}?options=${encodeURIComponent('-c default_transaction_isolation=serializable')}`);
    expect(await servedBy(opt, 'select inet_server_port() as p')).toBe('primary');
    await opt.query("set default_transaction_isolation = 'read committed'");
    expect(await servedBy(opt, 'select inet_server_port() as p'), lags()).toMatch(/^s[12]$/);
    await opt.query('discard all');
    expect(await servedBy(opt, 'select inet_server_port() as p')).toBe('primary');
  });
});

describe('reads a hot standby refuses run on the primary', () => {
  const retries = async () => Number(/meridian_retries_total\{reason="standby-refused"\} (\d+)/.exec(await mer.m.metrics.text())?.[1] ?? 0);

  it('an unlogged table (0A000), pg_current_wal_lsn() (55000) and a "stable" function that writes (25006): answered by the primary, no error, in both protocols', async () => {
    const ul = uniqueName('srul');
    const fn = uniqueName('srfn');
    await cluster.exec(`create unlogged table ${ul}(id int); insert into ${ul} values (1), (2); grant all on ${ul} to public`);
    // Declared STABLE but it writes: the classifier trusts pg_proc and routes it as a read.
    await cluster.exec(
      `create sequence ${ul}_seq; grant all on sequence ${ul}_seq to public; create function ${fn}_w() returns bigint language plpgsql stable as $$ begin return nextval('${ul}_seq'); end $$`,
    );
    await cluster.waitReplayed(60_000);
    try {
      const standby = await connect(cluster.node('s1').connectionString('app'));
      await expect(standby.query(`select count(*) from ${ul}`)).rejects.toMatchObject({ code: '0A000' });
      const c = await connect(mer.dsn());
      await mer.m.catalog.refresh(); // the function was created behind Meridian's back: learn that it is STABLE
      expect(mer.m.classify(`select ${fn}_w()`).isWrite).toBe(false);
      expect(await servedBy(c, 'select inet_server_port() as p'), lags()).toMatch(/^s[12]$/);
      const before = await retries();
      const r = await c.query(`select count(*)::int as n, inet_server_port() as p from ${ul}`);
      expect({ n: r.rows[0].n, node: nodeOf(r.rows[0].p) }).toEqual({ n: 2, node: 'primary' });
      expect(await servedBy(c, 'select pg_current_wal_lsn() is not null as ok, inet_server_port() as p')).toBe('primary');
      expect(await servedBy(c, `select ${fn}_w() > 0 as ok, inet_server_port() as p`)).toBe('primary');
      // The extended protocol too (ParseComplete and BindComplete were still unsent), unnamed and named.
      const ext = await c.query(`select count(*)::int as n, inet_server_port() as p from ${ul} where id = $1`, [1]);
      expect({ n: ext.rows[0].n, node: nodeOf(ext.rows[0].p) }).toEqual({ n: 1, node: 'primary' });
      const named = await c.query({ name: `${ul}_q`, text: `select count(*)::int as n, inet_server_port() as p from ${ul} where id > $1`, values: [0] });
      expect({ n: named.rows[0].n, node: nodeOf(named.rows[0].p) }).toEqual({ n: 2, node: 'primary' });
      const again = await c.query({ name: `${ul}_q`, text: `select count(*)::int as n, inet_server_port() as p from ${ul} where id > $1`, values: [1] });
      expect({ n: again.rows[0].n, node: nodeOf(again.rows[0].p) }).toEqual({ n: 1, node: 'primary' });
      expect(await retries()).toBe(before + 6);
      // The session goes on reading from the standbys.
      expect(await servedBy(c, 'select inet_server_port() as p'), lags()).toMatch(/^s[12]$/);
    } finally {
      await cluster.exec(`drop function if exists ${fn}_w(); drop table if exists ${ul}; drop sequence if exists ${ul}_seq`).catch(() => {});
    }
  });
});
