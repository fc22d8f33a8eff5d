// routing.defer_begin against a real server: a BEGIN sent alone is answered by Meridian and the
// transaction takes a backend only at its first statement, where the BEGIN (with its modes) runs
// first. Checked: no backend sits idle in transaction after the BEGIN, the statements after it are
// in one transaction (ROLLBACK undoes them, in both protocols), settings inside the block follow
// it, READ ONLY is applied, the CommandComplete tags are the server's, a request that fails before
// reaching a server fails the block as a server would (25P02 until ROLLBACK), and with the option
// off a BEGIN takes its backend at once.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startSingleNode, type SingleCluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { errorOf } from '../helpers/errors.js';

let cluster: SingleCluster;
let deferred: RunningMeridian;
let eager: RunningMeridian;

/** Runs `fn` with a client of `m` (application_name `app`), closed afterwards. */
async function withClient(m: RunningMeridian, app: string, fn: (c: pg.Client) => Promise<void>): Promise<void> {
  const c = new pg.Client({ connectionString: m.dsn(), application_name: app });
  c.on('error', () => {});
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}

/** Server backends idle inside a transaction block (Meridian's pooled connections included). */
async function idleInTx(): Promise<number> {
  const [r] = await cluster.nodes[0]!.query<{ n: string }>("select count(*) as n from pg_stat_activity where state = 'idle in transaction'");
  return Number(r!.n);
}

const count = async (c: pg.Client, id: number) => Number((await c.query('select count(*) as n from db_items where id = $1', [id])).rows[0].n);

beforeAll(async () => {
  cluster = await startSingleNode();
  await cluster.exec('create table db_items(id int primary key, note text); grant all on db_items to public');
  deferred = await startMeridian(cluster, { kind: 'physical' });
  eager = await startMeridian(cluster, { kind: 'physical', extraYaml: 'routing: { defer_begin: false }' });
}, 120_000);

afterAll(async () => {
  await deferred?.stop();
  await eager?.stop();
  await cluster?.stop();
});

describe('deferred BEGIN', () => {
  it('holds no backend until the first statement, then runs it inside the transaction', async () => {
    await withClient(deferred, 'db-hold', async (c) => {
      const begin = await c.query('begin');
      expect(begin.command).toBe('BEGIN');
      expect(await idleInTx()).toBe(0);
      await c.query("insert into db_items values (1, 'x')");
      expect(await idleInTx()).toBe(1);
      await c.query('rollback');
      expect(await count(c, 1)).toBe(0);
      expect(await idleInTx()).toBe(0);
    });
  });

  it('with defer_begin off, a BEGIN takes its backend at once', async () => {
    await withClient(eager, 'db-eager', async (c) => {
      await c.query('begin');
      expect(await idleInTx()).toBe(1);
      await c.query('rollback');
    });
  });

  it('COMMIT keeps and ROLLBACK undoes, in the simple and the extended protocol', async () => {
    await withClient(deferred, 'db-commit', async (c) => {
      await c.query('begin');
      await c.query('insert into db_items values ($1, $2)', [2, 'extended']);
      await c.query("insert into db_items values (3, 'simple')");
      await c.query('commit');
      expect(await count(c, 2)).toBe(1);
      expect(await count(c, 3)).toBe(1);
      const start = await c.query('start transaction');
      expect(start.command).toBe('START');
      await c.query('delete from db_items where id = $1', [2]);
      await c.query('rollback');
      expect(await count(c, 2)).toBe(1);
      // BEGIN then COMMIT with nothing between: an empty transaction, as on a server.
      await c.query('begin');
      expect((await c.query('commit')).command).toBe('COMMIT');
    });
  });

  it('settings inside the block follow it: rolled back, or kept by COMMIT', async () => {
    await withClient(deferred, 'db-settings', async (c) => {
      const before = (await c.query('show work_mem')).rows[0].work_mem;
      await c.query('begin');
      await c.query("set work_mem = '7MB'");
      await c.query('rollback');
      expect((await c.query('show work_mem')).rows[0].work_mem).toBe(before);
      await c.query('begin');
      await c.query("set work_mem = '9MB'");
      await c.query('commit');
      for (let i = 0; i < 3; i++) expect((await c.query('show work_mem')).rows[0].work_mem).toBe('9MB');
    });
  });

  it('applies the BEGIN modes: READ ONLY refuses a write with 25006, as a server does', async () => {
    await withClient(deferred, 'db-ro', async (c) => {
      await c.query('begin read only');
      const e = await errorOf(c.query("insert into db_items values (4, 'ro')"));
      expect(e?.code).toBe('25006');
      expect((await errorOf(c.query('select 1')))?.code).toBe('25P02');
      await c.query('rollback');
      expect(await count(c, 4)).toBe(0);
    });
  });

  it('a request that fails before reaching a server fails the block until ROLLBACK', async () => {
    await withClient(deferred, 'db-fail', async (c) => {
      await c.query('begin');
      const e = await errorOf(c.query('/* meridian: node=nowhere */ select 1'));
      expect(e).not.toBeNull();
      expect(await idleInTx()).toBe(0);
      // The block is failed: the server itself answers now (BEGIN, then a statement that fails it).
      expect((await errorOf(c.query("insert into db_items values (5, 'after')")))?.code).toBe('25P02');
      expect((await errorOf(c.query('select $1::int', [1])))?.code).toBe('25P02');
      expect((await c.query('commit')).command).toBe('ROLLBACK');
      expect(await count(c, 5)).toBe(0);
      expect((await c.query('select 1 as one')).rows[0].one).toBe(1);
      // The same, ended with ROLLBACK while the BEGIN is still pending after the failure.
      await c.query('begin');
      await errorOf(c.query('/* meridian: node=nowhere */ select 1'));
      expect((await c.query('rollback')).command).toBe('ROLLBACK');
      expect((await c.query('select 2 as two')).rows[0].two).toBe(2);
    });
  });
});
