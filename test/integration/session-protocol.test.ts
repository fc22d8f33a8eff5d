// Issue 5: protocol-level edge cases of session state across nodes, with a raw wire client and
// node-postgres, on primary + 2 standbys and on the 3-node pglogical cluster. SQL-level
// PREPARE/EXECUTE/DEALLOCATE route by the prepared body's class; a named statement closed and
// parsed again with other SQL runs the new SQL on every backend; Describe of a statement parsed
// on another node; a read request ended by Flush followed by a write; a per-backend statement
// limit of 0; and savepoints: a SET undone by ROLLBACK TO SAVEPOINT (nested, released, a name
// declared again, after a failed statement) is not replayed on other backends.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { sharedCluster, TEST_USERS, uniqueName, waitFor, type Cluster, type PhysicalCluster } from '../support/cluster.js';
import type { RunningMeridian } from '../helpers/meridian.js';
import { RawClient } from '../drivers/raw-client.js';
import { allowDropOnPglogical, nodeNameOfPort, startSessionMeridian } from '../drivers/workload.js';

type Kind = 'physical' | 'pglogical';

interface DataRowMsg {
  name: string;
  fields: (string | null)[];
}

function rowsOf(msgs: readonly { name: string }[]): (string | null)[][] {
  return msgs.filter((m) => m.name === 'dataRow').map((m) => (m as unknown as DataRowMsg).fields);
}

describe.each<Kind>(['physical', 'pglogical'])('session protocol edge cases on %s', (kind) => {
  let cluster: Cluster;
  let mer: RunningMeridian;
  let primaryPort: number | null;

  beforeAll(async () => {
    cluster = await sharedCluster(kind);
    primaryPort = kind === 'physical' ? (cluster as PhysicalCluster).primary.port : null;
    mer = await startSessionMeridian(cluster, 'mode: transaction, size: 3, queue_timeout: 20s');
  });

  afterAll(async () => {
    await mer?.stop();
  });

  /** Sessions of `user` (the same pools) keep backends busy, so the tested session moves between them. */
  async function withChurn<T>(user: 'app' | 'plainuser', body: () => Promise<T>): Promise<T> {
    let isStopped = false;
    const others = await Promise.all(
      [0, 1].map(async () => {
        const o = new pg.Client(mer.dsn(user));
        await o.connect();
        return o;
      }),
    );
    const loops = others.map(async (o) => {
      while (!isStopped) {
        await o.query('select pg_sleep(0.003)');
        await o.query('begin; select pg_sleep(0.003); commit');
      }
    });
    try {
      return await body();
    } finally {
      isStopped = true;
      await Promise.all(loops);
      await Promise.all(others.map((o) => o.end()));
    }
  }

  it('SQL-level PREPARE/EXECUTE route by the body (a prepared read on a replica, a prepared write on the master), DEALLOCATE is honoured', async () => {
    const t = uniqueName('pe');
    await cluster.exec(`create table ${t}(id int, port int); grant all on ${t} to public`);
    if (kind === 'physical') await (cluster as PhysicalCluster).waitReplayed(60_000);
    const c = new pg.Client(mer.dsn());
    await c.connect();
    try {
      // A replica is eligible for reads (its lag, as the probes last saw it, within bounds) before the first EXECUTE.
      if (primaryPort !== null)
        await waitFor(async () => (await c.query<{ port: number }>('select inet_server_port() as port')).rows[0]!.port !== primaryPort, {
          timeoutMs: 20_000,
          what: 'a read served by a replica',
        });
      await c.query('prepare r(int) as select $1 + 1 as x, inet_server_port() as port');
      await c.query(`prepare w(int) as insert into ${t} values ($1, inet_server_port()) returning inet_server_port() as port`);
      await withChurn('app', async () => {
        for (let i = 0; i < 15; i++) {
          const r = (await c.query(`execute r(${i})`)).rows[0];
          expect(r.x).toBe(i + 1);
          if (primaryPort !== null) expect(nodeNameOfPort(cluster, r.port), `execute r ${i}`).not.toBe('primary');
          const w = (await c.query(`execute w(${i})`)).rows[0];
          if (primaryPort !== null) expect(w.port, `execute w ${i}`).toBe(primaryPort);
        }
      });
      // EXECUTE sent through the extended protocol (Parse, Bind, Execute, Sync in one request):
      // its PREPARE is brought to each backend once (regression: twice, 42P05).
      await withChurn('app', async () => {
        for (let i = 0; i < 8; i++) {
          const r = (await c.query({ text: `execute r(${i})`, queryMode: 'extended' } as pg.QueryConfig)).rows[0];
          expect(r.x, `extended execute r ${i}`).toBe(i + 1);
        }
      });
      // Inside transactions, which begin on whatever backend (the master for a write).
      for (let i = 0; i < 5; i++) {
        await c.query(i % 2 === 0 ? 'begin' : 'begin read only');
        expect((await c.query(`execute r(${i})`)).rows[0].x, `execute r in tx ${i}`).toBe(i + 1);
        if (i % 2 === 0) expect((await c.query(`execute w(${100 + i})`)).rows[0].port).toBeGreaterThan(0);
        await c.query('commit');
      }
      await c.query('deallocate r');
      for (let i = 0; i < 4; i++) await expect(c.query('execute r(1)')).rejects.toMatchObject({ code: '26000' });
      await c.query('prepare r(int) as select $1 * 10 as x, inet_server_port() as port');
      for (let i = 0; i < 5; i++) expect((await c.query(`execute r(${i})`)).rows[0].x).toBe(i * 10);
      await c.query('deallocate all');
      await expect(c.query('execute w(1)')).rejects.toMatchObject({ code: '26000' });
    } finally {
      await c.end();
    }
  }, 90_000);

  it('regression: PREPARE of a name the session holds fails with 42P05 and DEALLOCATE of it works, on whatever backend, as on a server', async () => {
    const c = new pg.Client(mer.dsn());
    await c.connect();
    try {
      await c.query('prepare dup_q as select 1 as x');
      await withChurn('app', async () => {
        for (let i = 0; i < 6; i++) {
          await expect(c.query('prepare dup_q as select 2 as x'), `attempt ${i}`).rejects.toMatchObject({ code: '42P05' });
          expect((await c.query('execute dup_q')).rows[0].x, `execute ${i}`).toBe(1);
        }
      });
      // DEALLOCATE of the session's own statement works on whatever backend (regression: 26000 on
      // one that never held it), inside a transaction too; after it, PREPARE of the name works.
      await withChurn('app', async () => {
        for (let i = 0; i < 4; i++) {
          if (i % 2 === 1) await c.query('begin');
          await c.query('deallocate dup_q');
          await c.query(`prepare dup_q as select ${i} as x`);
          if (i % 2 === 1) await c.query('commit');
          expect((await c.query('execute dup_q')).rows[0].x, `after deallocate ${i}`).toBe(i);
        }
      });
      await expect(c.query('deallocate never_prepared')).rejects.toMatchObject({ code: '26000' });
    } finally {
      await c.end();
    }
  }, 60_000);

  it('regression: a SQL-level statement another session left on a pooled backend does not run for a session that never prepared it', async () => {
    const m1 = await startSessionMeridian(cluster, 'mode: transaction, size: 1, queue_timeout: 20s');
    try {
      // On every node's one backend, a statement of an earlier session's (one session per node:
      // a second PREPARE of the name in one session fails with 42P05, as on a server).
      for (const n of cluster.nodes) {
        const a = new pg.Client(m1.dsn());
        await a.connect();
        await a.query(`/* meridian: node=${n.name} */ prepare leak as select 'a''s statement' as v`);
        await a.end();
      }
      const b = new pg.Client(m1.dsn());
      await b.connect();
      try {
        for (const n of cluster.nodes) {
          const got = await b.query(`/* meridian: node=${n.name} */ execute leak`).then(
            (r) => r.rows[0].v as string,
            (e: { code: string }) => e.code,
          );
          expect(got, `execute of another session's statement on ${n.name}`).toBe('26000');
        }
        // b's own statement of that name, prepared on one node, runs on all (a's is gone).
        await b.query(`/* meridian: node=${cluster.nodes[1]!.name} */ prepare leak as select 'b''s statement' as v`);
        for (const n of cluster.nodes) expect((await b.query(`/* meridian: node=${n.name} */ execute leak`)).rows[0].v, n.name).toBe("b's statement");
        await b.query('begin');
        expect((await b.query('execute leak')).rows[0].v).toBe("b's statement");
        await b.query('commit');
      } finally {
        await b.end();
      }
    } finally {
      await m1.stop();
    }
  }, 60_000);

  it('a named statement closed and parsed again with other SQL runs the new SQL on every backend; Describe works on any backend', async () => {
    const raw = await RawClient.connect(mer.port, 'plainuser', TEST_USERS.plainuser.password);
    const other = await RawClient.connect(mer.port, 'plainuser', TEST_USERS.plainuser.password);
    try {
      const run = async (c: RawClient, stmt: string, arg: string) => {
        c.send(Buffer.concat([serialize.bind({ statement: stmt, values: [arg] }), serialize.execute(), serialize.sync()]));
        return rowsOf(await c.until('readyForQuery'));
      };
      const prepare = async (c: RawClient, stmt: string, text: string) => {
        c.send(Buffer.concat([serialize.parse({ name: stmt, text }), serialize.describe({ type: 'S', name: stmt }), serialize.sync()]));
        const msgs = await c.until('readyForQuery');
        expect(msgs.map((m) => m.name)).toEqual(['parseComplete', 'parameterDescription', 'rowDescription', 'readyForQuery']);
      };
      await withChurn('plainuser', async () => {
        // Both sessions use the name q for the same SQL: one global statement, shared.
        await prepare(raw, 'q', 'select $1::int + 1 as v');
        await prepare(other, 'q', 'select $1::int + 1 as v');
        for (let i = 0; i < 10; i++) {
          expect(await run(raw, 'q', String(i))).toEqual([[String(i + 1)]]);
          expect(await run(other, 'q', String(i))).toEqual([[String(i + 1)]]);
        }
        raw.send(Buffer.concat([serialize.close({ type: 'S', name: 'q' }), serialize.sync()]));
        expect((await raw.until('readyForQuery')).map((m) => m.name)).toEqual(['closeComplete', 'readyForQuery']);
        // After Close, the name is unknown to this session (26000), whatever the backend.
        raw.send(Buffer.concat([serialize.bind({ statement: 'q', values: ['1'] }), serialize.execute(), serialize.sync()]));
        const err = (await raw.until('readyForQuery', { allowErrors: true })).find((m) => m.name === 'error') as unknown as { code: string } | undefined;
        expect(err?.code).toBe('26000');
        await prepare(raw, 'q', "select $1::text || '-two' as v");
        for (let i = 0; i < 10; i++) {
          expect(await run(raw, 'q', String(i))).toEqual([[`${i}-two`]]);
          expect(await run(other, 'q', String(i))).toEqual([[String(i + 1)]]);
          // Describe alone, in its own request (maybe on a backend that never saw the Parse).
          raw.send(Buffer.concat([serialize.describe({ type: 'S', name: 'q' }), serialize.sync()]));
          expect((await raw.until('readyForQuery')).map((m) => m.name)).toEqual(['parameterDescription', 'rowDescription', 'readyForQuery']);
        }
      });
    } finally {
      raw.socket.end(serialize.end());
      other.socket.end(serialize.end());
    }
  }, 90_000);

  it('regression: a read request ended by Flush (asyncpg prepare) does not hold the next write forever on a replica', async () => {
    const t = uniqueName('fl');
    await cluster.exec(`create table ${t}(id int); grant all on ${t} to public`);
    if (kind === 'physical') await (cluster as PhysicalCluster).waitReplayed(60_000);
    const raw = await RawClient.connect(mer.port, 'plainuser', TEST_USERS.plainuser.password);
    try {
      for (let i = 0; i < 3; i++) {
        raw.send(
          Buffer.concat([
            serialize.parse({ name: `intro${i}`, text: `select id from ${t} limit 1` }),
            serialize.describe({ type: 'S', name: `intro${i}` }),
            serialize.flush(),
          ]),
        );
        expect((await raw.until('rowDescription')).map((m) => m.name)).toEqual(['parseComplete', 'parameterDescription', 'rowDescription']);
        // No Sync: the next message is a write (asyncpg's COPY after its column introspection).
        const msgs = await raw.query(`insert into ${t} values (${i}) returning inet_server_port()`);
        const [[port]] = rowsOf(msgs) as [[string]];
        if (primaryPort !== null) expect(Number(port)).toBe(primaryPort);
        // The statement parsed before the Flush is usable afterwards.
        raw.send(Buffer.concat([serialize.bind({ statement: `intro${i}` }), serialize.execute(), serialize.sync()]));
        expect((await raw.until('readyForQuery')).some((m) => m.name === 'commandComplete')).toBe(true);
      }
    } finally {
      raw.socket.end(serialize.end());
    }
  }, 60_000);

  it('regression: pool.prepared_statements_per_backend 0 does not crash Meridian (a backend keeps the statement being bound)', async () => {
    const m0 = await startSessionMeridian(cluster, 'mode: transaction, size: 2, queue_timeout: 20s, prepared_statements_per_backend: 0');
    const c = new pg.Client(m0.dsn());
    await c.connect();
    try {
      for (let i = 0; i < 20; i++) {
        const r = await c.query({
          name: `z${i % 4}`,
          text: `select $1::int + ${i % 4} as x, (select count(*)::int from pg_prepared_statements) as n`,
          values: [i],
        });
        expect(r.rows[0].x).toBe(i + (i % 4));
        expect(r.rows[0].n).toBeLessThanOrEqual(1);
      }
    } finally {
      await c.end();
      await m0.stop();
    }
  }, 60_000);

  // Savepoints (issue 5 follow-up): a SET inside a transaction is tracked, for replay on other
  // backends, only if PostgreSQL keeps it: ROLLBACK TO SAVEPOINT undoes the changes after that
  // savepoint (the newest of that name; later ones are destroyed, it stays), RELEASE keeps them.

  interface Seen {
    tz: string;
    wm: string;
    sp: string;
    ds: string;
    port: number;
  }
  const SEEN_SQL = `select current_setting('TimeZone') as tz, current_setting('work_mem') as wm,
    current_setting('search_path') as sp, current_setting('DateStyle') as ds, inet_server_port() as port`;

  async function seen(c: pg.Client): Promise<Seen> {
    return (await c.query<Seen>(SEEN_SQL)).rows[0]!;
  }

  /** What the session sees, in autocommit and in transactions, while it moves between backends. */
  async function expectEverywhere(c: pg.Client, want: Omit<Seen, 'port'>, what: string): Promise<void> {
    const ports = new Set<number>();
    await withChurn('app', async () => {
      for (let i = 0; i < 6; i++) {
        const a = await seen(c);
        expect({ ...a, port: 0 }, `${what}: autocommit read ${i} on ${nodeNameOfPort(cluster, a.port)}`).toEqual({ ...want, port: 0 });
        await c.query(i % 2 === 0 ? 'begin' : 'begin read only');
        const t = await seen(c);
        await c.query('commit');
        expect({ ...t, port: 0 }, `${what}: transaction ${i} on ${nodeNameOfPort(cluster, t.port)}`).toEqual({ ...want, port: 0 });
        ports.add(a.port).add(t.port);
      }
    });
    if (primaryPort !== null) expect(ports.size, `${what}: served by the primary and a standby`).toBeGreaterThan(1);
  }

  async function withClient(body: (c: pg.Client, before: Omit<Seen, 'port'>) => Promise<void>): Promise<void> {
    const c = new pg.Client(mer.dsn());
    await c.connect();
    try {
      const { port: _, ...before } = await seen(c);
      await body(c, before);
    } finally {
      await c.end();
    }
  }

  it('regression: a SET undone by ROLLBACK TO SAVEPOINT does not stick', async () => {
    const c = new pg.Client(mer.dsn());
    await c.connect();
    try {
      const before = (await c.query(`select current_setting('TimeZone') as tz`)).rows[0].tz as string;
      await c.query(`begin; savepoint s; set timezone = 'Pacific/Chatham'; rollback to savepoint s; commit`);
      await withChurn('app', async () => {
        for (let i = 0; i < 6; i++) {
          expect((await c.query(`select current_setting('TimeZone') as tz`)).rows[0].tz).toBe(before);
          await c.query('begin');
          expect((await c.query(`select current_setting('TimeZone') as tz`)).rows[0].tz).toBe(before);
          await c.query('commit');
        }
      });
    } finally {
      await c.end();
    }
  }, 60_000);

  it('nested savepoints: ROLLBACK TO the inner one keeps the outer changes, to the outer one drops them; the rest commits', async () => {
    await withClient(async (c, before) => {
      await c.query('begin');
      await c.query(`set work_mem = '1111kB'`);
      await c.query('savepoint s1');
      await c.query('set search_path = nested_a, public');
      await c.query('savepoint s2');
      await c.query(`set timezone = 'Asia/Tokyo'`);
      await c.query('rollback to savepoint s2');
      expect(await seen(c)).toMatchObject({ tz: before.tz, sp: 'nested_a, public', wm: '1111kB' });
      await c.query('rollback to savepoint s1');
      expect(await seen(c)).toMatchObject({ sp: before.sp, wm: '1111kB' });
      // s2 was destroyed by the ROLLBACK TO s1; s1 itself stays.
      await expect(c.query('rollback to savepoint s2')).rejects.toMatchObject({ code: '3B001' });
      await c.query('rollback to savepoint s1');
      await c.query(`set datestyle = 'SQL, DMY'`);
      await c.query('commit');
      await expectEverywhere(c, { ...before, wm: '1111kB', ds: 'SQL, DMY' }, 'after nested savepoints');
    });
  }, 90_000);

  it('RELEASE SAVEPOINT keeps the changes, unless an enclosing savepoint is rolled back', async () => {
    await withClient(async (c, before) => {
      await c.query('begin; savepoint s1; savepoint s2');
      await c.query(`set work_mem = '2222kB'`);
      await c.query('release savepoint s2');
      await c.query('commit');
      await c.query('begin');
      await c.query('savepoint s1');
      await c.query('savepoint s2');
      await c.query(`set timezone = 'Asia/Tokyo'`);
      await c.query('release s2');
      await c.query('rollback to savepoint s1');
      await c.query('commit');
      await expectEverywhere(c, { ...before, wm: '2222kB' }, 'after release');
    });
  }, 90_000);

  it('ROLLBACK TO SAVEPOINT then COMMIT in one Query commits; ROLLBACK then a stray COMMIT in one Query does not', async () => {
    await withClient(async (c, before) => {
      await c.query(`begin; set work_mem = '6666kB'; savepoint s; set timezone = 'Asia/Tokyo'`);
      await c.query('rollback to savepoint s; commit');
      await expectEverywhere(c, { ...before, wm: '6666kB' }, 'after rollback to; commit');
      await c.query(`begin; set datestyle = 'SQL, DMY'`);
      await c.query('rollback; commit'); // the COMMIT runs outside a block: a warning, tag COMMIT
      await expectEverywhere(c, { ...before, wm: '6666kB' }, 'after rollback; commit');
    });
  }, 90_000);

  it('COMMIT and a SET in one Query: the committed block and the SET both hold (regression: the last tag, SET, read as a rollback)', async () => {
    await withClient(async (c, before) => {
      await c.query('begin');
      await c.query(`set work_mem = '3333kB'`);
      await c.query(`commit; set datestyle = 'SQL, DMY'`);
      await expectEverywhere(c, { ...before, wm: '3333kB', ds: 'SQL, DMY' }, 'after commit; set');
    });
  }, 90_000);

  it('COMMIT AND CHAIN keeps the committed block’s settings; the chained block’s follow its own end (regression: both rolled back)', async () => {
    await withClient(async (c, before) => {
      await c.query('begin');
      await c.query(`set work_mem = '4444kB'`);
      await c.query('commit and chain');
      await c.query(`set timezone = 'Asia/Tokyo'`);
      await c.query('rollback');
      await expectEverywhere(c, { ...before, wm: '4444kB' }, 'after commit and chain, then rollback');
    });
  }, 90_000);

  it('a Query that opens and ends a block: SETs before its BEGIN belong to the block, its ROLLBACK undoes them (was a known limit)', async () => {
    await withClient(async (c, before) => {
      await c.query(`set timezone = 'Asia/Tokyo'; begin; set work_mem = '5555kB'; rollback`);
      await expectEverywhere(c, before, 'after set; begin; set; rollback');
      await c.query('begin');
      await c.query(`set work_mem = '2222kB'`);
      await c.query(`commit; begin; set timezone = 'Asia/Tokyo'; rollback`);
      await expectEverywhere(c, { ...before, wm: '2222kB' }, 'after commit; begin; set; rollback');
    });
  }, 90_000);

  it('ROLLBACK AND CHAIN undoes the block, the chained block follows its own end (was a known limit)', async () => {
    await withClient(async (c, before) => {
      await c.query('begin');
      await c.query(`set work_mem = '1111kB'`);
      await c.query('rollback and chain');
      await c.query(`set timezone = 'Asia/Tokyo'`);
      await c.query('commit');
      await expectEverywhere(c, { ...before, tz: 'Asia/Tokyo' }, 'after rollback and chain, then commit');
      await c.query(`begin; set datestyle = 'SQL, DMY'; commit and chain; set work_mem = '4444kB'`);
      await c.query('rollback');
      await expectEverywhere(c, { ...before, tz: 'Asia/Tokyo', ds: 'SQL, DMY' }, 'after begin; set; commit and chain; set, then rollback');
      // The same through the extended protocol (Parse/Bind/Execute per statement).
      const ext = (text: string) => c.query({ text, queryMode: 'extended' } as pg.QueryConfig);
      await ext('begin');
      await ext(`set search_path = chained_ext, public`);
      await ext('rollback and chain');
      await ext(`set work_mem = '7777kB'`);
      await ext('commit');
      await expectEverywhere(c, { ...before, tz: 'Asia/Tokyo', ds: 'SQL, DMY', wm: '7777kB' }, 'after extended rollback and chain, then commit');
    });
  }, 90_000);

  it('a multi-statement Query that fails part-way: the statements after the error never ran (was a known limit: phantom savepoints)', async () => {
    await withClient(async (c, before) => {
      await c.query('begin');
      // The second `savepoint a` never ran: ROLLBACK TO goes to the first one, undoing the time zone.
      await expect(c.query(`savepoint a; set timezone = 'Asia/Tokyo'; select 1/0; savepoint a`)).rejects.toMatchObject({ code: '22012' });
      await c.query('rollback to savepoint a');
      await c.query('commit');
      await expectEverywhere(c, before, 'after a phantom savepoint');
      // Outside a block the statements run in one implicit block: the error undoes the SET before it,
      // and an explicit COMMIT inside keeps what came before it.
      await expect(c.query(`set timezone = 'Asia/Tokyo'; select 1/0`)).rejects.toMatchObject({ code: '22012' });
      await expect(c.query(`set work_mem = '3333kB'; commit; set timezone = 'Asia/Tokyo'; select 1/0`)).rejects.toMatchObject({ code: '22012' });
      await expectEverywhere(c, { ...before, wm: '3333kB' }, 'after failed implicit blocks');
    });
  }, 90_000);

  it('a savepoint name declared again: ROLLBACK TO and RELEASE act on the newest one', async () => {
    await withClient(async (c, before) => {
      await c.query('begin');
      await c.query('savepoint s');
      await c.query(`set work_mem = '3333kB'`);
      await c.query('savepoint s');
      await c.query(`set timezone = 'Asia/Tokyo'`);
      await c.query('rollback to savepoint s'); // the second s: work_mem stays
      expect(await seen(c)).toMatchObject({ tz: before.tz, wm: '3333kB' });
      await c.query(`set search_path = redeclared, public`);
      await c.query('rollback to savepoint s'); // the second s again: it stayed
      expect(await seen(c)).toMatchObject({ sp: before.sp, wm: '3333kB' });
      await c.query('release savepoint s'); // the second s
      await c.query('rollback to savepoint s'); // now the first: work_mem undone
      expect(await seen(c)).toMatchObject({ wm: before.wm });
      await c.query(`set datestyle = 'SQL, DMY'`);
      await c.query('commit');
      await expectEverywhere(c, { ...before, ds: 'SQL, DMY' }, 'after re-declared savepoints');
    });
  }, 90_000);

  it('a failed statement inside a savepoint, then ROLLBACK TO: the transaction is usable and the settings are right', async () => {
    await withClient(async (c, before) => {
      await c.query('begin');
      await c.query(`set work_mem = '4444kB'`);
      await c.query('savepoint s');
      await c.query(`set timezone = 'Asia/Tokyo'`);
      await expect(c.query('select 1/0')).rejects.toMatchObject({ code: '22012' });
      await expect(c.query('select 1')).rejects.toMatchObject({ code: '25P02' });
      await c.query('rollback to savepoint s');
      expect(await seen(c)).toMatchObject({ tz: before.tz, wm: '4444kB' });
      // A SET that fails is not tracked either.
      await c.query('savepoint t');
      await expect(c.query(`set timezone = 'No/Such_Zone'`)).rejects.toMatchObject({ code: '22023' });
      await c.query('rollback to savepoint t');
      await c.query(`set datestyle = 'SQL, DMY'`);
      await c.query('commit');
      await expectEverywhere(c, { ...before, wm: '4444kB', ds: 'SQL, DMY' }, 'after a failed statement');
    });
  }, 90_000);

  it('a savepoint declared in a failed pipelined request (one Sync) is the one ROLLBACK TO finds', async () => {
    const raw = await RawClient.connect(mer.port, 'plainuser', TEST_USERS.plainuser.password);
    const value = async (sql: string): Promise<string | null> => rowsOf(await raw.query(sql))[0]?.[0] ?? null;
    try {
      const tzBefore = await value(`select current_setting('TimeZone')`);
      await raw.query('begin');
      await raw.query('savepoint s');
      await raw.query(`set work_mem = '5555kB'`);
      // Completed: SET datestyle, SAVEPOINT s (a second s), SET timezone; failed: 1/0.
      const step = (text: string) => [serialize.parse({ text }), serialize.bind({}), serialize.execute({})];
      raw.send(
        Buffer.concat([
          ...step(`set datestyle = 'SQL, DMY'`),
          ...step('savepoint s'),
          ...step(`set timezone = 'Asia/Tokyo'`),
          ...step('select 1/0'),
          serialize.sync(),
        ]),
      );
      const msgs = await raw.until('readyForQuery', { allowErrors: true });
      expect((msgs.find((m) => m.name === 'error') as unknown as { code: string } | undefined)?.code).toBe('22012');
      await raw.query('rollback to savepoint s'); // the second s: datestyle and work_mem stay
      await raw.query('commit');
      await withChurn('plainuser', async () => {
        for (let i = 0; i < 6; i++) {
          const row = rowsOf(await raw.query(`select current_setting('TimeZone'), current_setting('work_mem'), current_setting('DateStyle')`))[0];
          expect(row, `request ${i}`).toEqual([tzBefore, '5555kB', 'SQL, DMY']);
        }
      });
    } finally {
      raw.socket.end(serialize.end());
    }
  }, 90_000);

  it('inside a rolled-back savepoint: a SQL-level PREPARE survives (as in PostgreSQL); a temp table or LISTEN does not pin', async () => {
    await allowDropOnPglogical(cluster);
    const c = new pg.Client({ connectionString: mer.dsn(), application_name: 'savepoint-pins' });
    await c.connect();
    const state = () => [...mer.m.sessions.values()].find((x) => x.ident.applicationName === 'savepoint-pins')!.state;
    try {
      await c.query('begin');
      await c.query('savepoint s');
      await c.query(`prepare sp_kept as select 42 as v`);
      await c.query('create temp table sp_gone(a int)');
      await c.query('listen sp_channel');
      await c.query('rollback to savepoint s');
      await c.query('commit');
      expect(state().pinReasons()).toEqual([]);
      await withChurn('app', async () => {
        for (let i = 0; i < 6; i++) {
          expect((await c.query('execute sp_kept')).rows[0].v, `execute ${i}`).toBe(42);
          const port = (await c.query('select inet_server_port() as port')).rows[0].port as number;
          // Not pinned to the primary, where the transaction ran: reads go to a standby.
          if (primaryPort !== null) expect(port, `read ${i}`).not.toBe(primaryPort);
        }
      });
      // Committed, the same temp table pins (the check above could fail).
      await c.query('begin; savepoint s; create temp table sp_kept_t(a int); release savepoint s; commit');
      expect(state().pinReasons()).toEqual(['temp-table']);
      await c.query('drop table sp_kept_t');
      expect(state().pinReasons()).toEqual([]);
    } finally {
      await c.end();
    }
  }, 90_000);
});
