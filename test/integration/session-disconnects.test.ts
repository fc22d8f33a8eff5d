// Issue 5 acceptance: a client that goes away mid-transaction, mid-statement, mid-COPY, or with a
// pin (temp table, advisory lock, LISTEN, WITH HOLD cursor), politely or by vanishing, leaves no
// dirty backend in the pool — on primary + 2 standbys and on the 3-node pglogical cluster. Pools
// hold one backend per node, so fresh sessions get the very slot the departed one used; they
// check that backend's state through Meridian on every node, and the nodes are checked directly
// (pg_stat_activity, pg_locks, temp tables of the departed session's user).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { sharedCluster, TEST_USERS, uniqueName, waitFor, type Cluster, type PhysicalCluster } from '../support/cluster.js';
import type { RunningMeridian } from '../helpers/meridian.js';
import { RawClient } from '../drivers/raw-client.js';
import { allowDropOnPglogical, startSessionMeridian } from '../drivers/workload.js';

type Kind = 'physical' | 'pglogical';
const USER = 'plainuser';

describe.each<Kind>(['physical', 'pglogical'])('client disconnects on %s', (kind) => {
  let cluster: Cluster;
  let mer: RunningMeridian;
  let table: string;
  let writable: Cluster['nodes'];

  beforeAll(async () => {
    cluster = await sharedCluster(kind);
    await allowDropOnPglogical(cluster);
    writable = kind === 'physical' ? [(cluster as PhysicalCluster).primary] : cluster.nodes;
    table = uniqueName('dc');
    await cluster.exec(`create table ${table}(id int, v text); grant all on ${table} to public`);
    if (kind === 'physical') await (cluster as PhysicalCluster).waitReplayed(60_000);
    mer = await startSessionMeridian(cluster, 'mode: transaction, size: 1, queue_timeout: 30s');
  });

  afterAll(async () => {
    await mer?.stop();
  });

  async function client(app: string): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: mer.dsn(USER), application_name: app });
    c.on('error', () => {}); // a vanished client's socket errors
    await c.connect();
    return c;
  }

  /** The client's socket reset, no Terminate: as if its process died. */
  function vanish(c: pg.Client): void {
    (c as unknown as { connection: { stream: { resetAndDestroy(): void } } }).connection.stream.resetAndDestroy();
  }

  /**
   * Nothing of the departed session remains: on the nodes (no backend of USER in a transaction or
   * running COPY/sleep, no advisory lock of USER's backends, no temp table of theirs, no rows
   * `marker` committed), and through Meridian on every node: fresh sessions on the one-backend
   * pools see no transaction, no temp table, no lock, no LISTEN, no cursor, default settings.
   */
  async function expectNoDirtyBackend(marker: number, what: string): Promise<void> {
    await waitFor(
      async () => {
        for (const n of cluster.nodes) {
          const [r] = await n.query<{ busy: number; locks: number; temps: number }>(`select
          (select count(*)::int from pg_stat_activity where usename = '${USER}' and datname = 'app'
             and (state like 'idle in transaction%' or (state = 'active' and query ~* '(copy|pg_sleep)'))) as busy,
          (select count(*)::int from pg_locks l join pg_stat_activity a using (pid) where l.locktype = 'advisory' and a.usename = '${USER}') as locks,
          (select count(*)::int from pg_class c join pg_namespace s on s.oid = c.relnamespace
             where c.relname like 'dirty%' and s.nspname like 'pg_temp%' and c.relowner = '${USER}'::regrole) as temps`);
          if (r!.busy + r!.locks + r!.temps > 0) return false;
        }
        return true;
      },
      { what: `${what}: no backend of ${USER} left busy, locking or with temp tables`, timeoutMs: 30_000 },
    );
    for (const n of writable) {
      const [r] = await n.query<{ n: number }>(`select count(*)::int as n from ${table} where id = ${marker}`);
      expect(r!.n, `${what}: rows of the departed transaction on ${n.name}`).toBe(0);
    }
    const fresh = await Promise.all([0, 1].map(() => client(uniqueName('fresh'))));
    try {
      for (const n of cluster.nodes) {
        for (const f of fresh) {
          const r = await f.query(`/* meridian: node=${n.name} */ select now() = statement_timestamp() as no_tx,
            (select count(*)::int from pg_listening_channels()) as listens,
            (select count(*)::int from pg_cursors) as cursors,
            (select count(*)::int from pg_class where relname like 'dirty%' and relnamespace = pg_my_temp_schema()) as temps,
            (select count(*)::int from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()) as locks,
            current_setting('search_path') as sp, current_setting('statement_timeout') as st, inet_server_port() as port`);
          expect(r.rows[0], `${what}: fresh session on ${n.name}`).toEqual({
            no_tx: true,
            listens: 0,
            cursors: 0,
            temps: 0,
            locks: 0,
            sp: '"$user", public',
            st: '0',
            port: n.port,
          });
        }
      }
      // The one-backend pools serve writes and transactions again.
      await fresh[0]!.query('begin');
      await fresh[0]!.query(`insert into ${table} values (-1, 'fresh')`);
      await fresh[0]!.query('rollback');
    } finally {
      await Promise.all(fresh.map((f) => f.end()));
    }
    for (const p of mer.m.pools.allPools()) expect(p.total, `${what}: pool ${p.node}/${p.user}`).toBeLessThanOrEqual(1);
  }

  it('vanishing mid-transaction (after a write, holding a transaction lock, with session settings)', async () => {
    const c = await client(uniqueName('dirty'));
    await c.query(`set search_path = dirty_schema; set statement_timeout = '77s'`);
    await c.query('begin');
    await c.query(`insert into public.${table} values (1, 'uncommitted')`);
    await c.query('select pg_advisory_xact_lock(987001)');
    vanish(c);
    await expectNoDirtyBackend(1, 'mid-transaction');
  }, 120_000);

  it('vanishing while a statement runs, and in a failed transaction', async () => {
    const c = await client(uniqueName('dirty'));
    await c.query('begin');
    await c.query(`insert into ${table} values (2, 'uncommitted')`);
    void c.query('select pg_sleep(2)').catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    vanish(c);
    const d = await client(uniqueName('dirty'));
    await d.query('begin');
    await d.query(`insert into ${table} values (2, 'uncommitted')`);
    await expect(d.query('select 1/0')).rejects.toMatchObject({ code: '22012' });
    await d.end(); // polite, but in a failed transaction
    await expectNoDirtyBackend(2, 'mid-statement / failed transaction');
  }, 120_000);

  it('vanishing and quitting mid-COPY FROM STDIN', async () => {
    for (const how of ['vanish', 'terminate'] as const) {
      const c = await RawClient.connect(mer.port, USER, TEST_USERS.plainuser.password, { application_name: uniqueName('dirty') });
      c.send(serialize.query(`copy ${table} from stdin`));
      await c.until('copyInResponse');
      for (let i = 0; i < 100; i++) c.send(serialize.copyData(Buffer.from(`3\trow-${i}\n`)));
      await new Promise((r) => setTimeout(r, 100));
      if (how === 'vanish') c.vanish();
      else c.socket.end(serialize.end());
      await expectNoDirtyBackend(3, `mid-COPY (${how})`);
    }
  }, 180_000);

  it('leaving with pins: temp table, advisory lock, LISTEN, WITH HOLD cursor (vanishing and quitting)', async () => {
    const pins: Array<[string, string]> = [
      ['temp table', 'create temp table dirty_tmp(a int); insert into dirty_tmp values (1)'],
      ['advisory lock', 'select pg_advisory_lock(987002)'],
      ['listen', `listen dirty_channel`],
      ['cursor', 'declare dirty_cur cursor with hold for select 1'],
      [
        'all of them',
        `create temp table dirty_all(a int); select pg_advisory_lock(987003); listen dirty_ch2; declare dirty_c2 cursor with hold for select 1; set search_path = nowhere`,
      ],
    ];
    for (const [name, sql] of pins) {
      for (const how of ['vanish', 'end'] as const) {
        const app = uniqueName('dirty');
        const c = await client(app);
        await c.query(sql);
        const s = [...mer.m.sessions.values()].find((x) => x.ident.applicationName === app)!;
        expect(s.state.isPinned, name).toBe(true);
        if (how === 'vanish') vanish(c);
        else await c.end();
        await expectNoDirtyBackend(4, `pinned by ${name} (${how})`);
      }
    }
  }, 300_000);
});
