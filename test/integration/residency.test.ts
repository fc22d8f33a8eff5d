// Issue 6 acceptance: residency fails closed, on a real 3-node pglogical cluster of this file's
// own (n1 eu-west, n2 eu-central, n3 us-east). The EU tenant (startup option meridian.tenant=eu1,
// backend user md5user; or the user plainuser) only ever uses EU nodes; with both EU nodes
// stopped it gets SQLSTATE 57M01 naming the rule while a session without residency keeps
// working — and the US node's pg_stat_activity never shows the tenants' users.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESIDENCY_SQLSTATE } from '../../src/errors.js';
import { startActiveActive, TEST_USERS, waitFor, type PglogicalCluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: PglogicalCluster;
let mer: RunningMeridian;
const sightings: string[] = [];
/** Positive control: the watcher does see the non-resident user's backends on n3. */
let appSeen = 0;
let watching = true;
let watcher: Promise<void> | null = null;

/** Polls n3 for backends of the EU tenants' users for the whole file. */
async function watchForeignNode(): Promise<void> {
  const us = cluster.node('n3');
  while (watching) {
    const rows = await us
      .query<{ usename: string; query: string }>("select usename, query from pg_stat_activity where usename in ('md5user', 'plainuser', 'app')")
      .catch(() => []);
    for (const r of rows) {
      if (r.usename === 'app') appSeen++;
      else sightings.push(`${r.usename}: ${r.query}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

function euTenant(): pg.Client {
  const c = new pg.Client({
    host: '127.0.0.1',
    port: mer.port,
    user: 'md5user',
    password: TEST_USERS.md5user.password,
    database: 'app',
    options: '-c meridian.tenant=eu1',
  });
  c.on('error', () => {});
  return c;
}

function euUser(): pg.Client {
  const c = new pg.Client({ connectionString: mer.dsn('plainuser') });
  c.on('error', () => {});
  return c;
}

function port(name: string): number {
  return cluster.node(name).port;
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

beforeAll(async () => {
  cluster = await startActiveActive();
  await ensureHeartbeat(cluster);
  watcher = watchForeignNode();
  mer = await startMeridian(cluster, {
    nodes: [
      { name: 'n1', host: '127.0.0.1', port: port('n1'), region: 'eu-west' },
      { name: 'n2', host: '127.0.0.1', port: port('n2'), region: 'eu-central' },
      { name: 'n3', host: '127.0.0.1', port: port('n3'), region: 'us-east' },
    ],
    extraYaml: `residency:
  - { name: eu-tenant, match: { tenant: eu1 }, regions: [eu-west, eu-central] }
  - { name: eu-user, match: { user: plainuser }, regions: [eu-west, eu-central] }
routing: { write_wait: 500ms }`,
  });
}, 240_000);

afterAll(async () => {
  watching = false;
  await watcher;
  await mer?.stop();
  await cluster?.stop();
});

describe('residency', () => {
  it('routes the EU tenant only to EU nodes while they are up', async () => {
    for (const make of [euTenant, euUser]) {
      const c = make();
      await c.connect();
      for (let i = 0; i < 10; i++) {
        const r = await c.query<{ port: number }>('select inet_server_port() as port');
        expect([port('n1'), port('n2')]).toContain(r.rows[0]?.port);
        const w = await c.query<{ port: number }>('insert into accounts(id, region, balance) values ($1, $2, 0) returning inet_server_port() as port', [
          100_000 + i + (make === euUser ? 50 : 0),
          'eu',
        ]);
        expect([port('n1'), port('n2')]).toContain(w.rows[0]?.port);
      }
      // even a hint cannot take it abroad
      await expect(c.query('/* meridian: node=n3 */ select 1')).rejects.toMatchObject({ code: RESIDENCY_SQLSTATE });
      await c.end();
    }
  });

  it('with every EU node stopped: the tenant gets 57M01 naming the rule; other sessions keep working', async () => {
    const eu = euTenant();
    await eu.connect();
    const plain = euUser();
    await plain.connect();
    const other = new pg.Client({ connectionString: mer.dsn('app') });
    await other.connect();
    await Promise.all([cluster.node('n1').stop(), cluster.node('n2').stop()]);
    await waitFor(
      () => {
        const s = mer.m.snapshot();
        return !s.byName.get('n1')?.isUp && !s.byName.get('n2')?.isUp;
      },
      { timeoutMs: 15_000, what: 'n1 and n2 seen down' },
    );

    for (const sql of ['select 1', "insert into accounts(id, region, balance) values (999999, 'eu', 0)"]) {
      const err = await eu.query(sql).then(
        () => null,
        (e: { code: string; message: string }) => e,
      );
      expect(err, sql).toMatchObject({ code: RESIDENCY_SQLSTATE, message: expect.stringContaining('residency rule "eu-tenant"') });
    }
    // A BEGIN alone is answered by Meridian (routing.defer_begin): the block's first statement is
    // refused, and the failed block can still be left without any node.
    await eu.query('begin');
    const inBlock = await eu.query('select 1').then(
      () => null,
      (e: { code: string; message: string }) => e,
    );
    expect(inBlock).toMatchObject({ code: RESIDENCY_SQLSTATE, message: expect.stringContaining('residency rule "eu-tenant"') });
    expect((await eu.query('rollback')).command).toBe('ROLLBACK');
    await expect(plain.query('select 1')).rejects.toMatchObject({ code: RESIDENCY_SQLSTATE, message: expect.stringContaining('residency rule "eu-user"') });
    // a new EU session is refused the same way (never placed on n3)
    const late = euTenant();
    await late.connect().catch(() => {});
    await expect(late.query('select 1')).rejects.toMatchObject({ code: expect.stringMatching(/^57/) });
    await late.end().catch(() => {});

    for (let i = 0; i < 10; i++) {
      const r = await other.query<{ port: number }>('select inet_server_port() as port');
      expect(r.rows[0]?.port).toBe(port('n3'));
      await other.query("insert into accounts(id, region, balance) values ($1, 'us', 0)", [200_000 + i]);
    }
    const refusals = await mer.m.metrics.residencyRefusals.get();
    expect(refusals.values.find((v) => v.labels.rule === 'eu-tenant')?.value).toBeGreaterThanOrEqual(3);
    await Promise.all([eu.end(), plain.end(), other.end()].map((p) => p.catch(() => {})));
  });

  it('after the EU nodes come back the tenant works again, still only in the EU', async () => {
    await Promise.all([cluster.node('n1').start(), cluster.node('n2').start()]);
    await waitFor(() => mer.m.snapshot().byName.get('n1')?.isUp === true, { timeoutMs: 30_000, what: 'n1 up again' });
    const eu = euTenant();
    await eu.connect();
    await waitFor(
      async () =>
        await eu.query('select 1').then(
          () => true,
          () => false,
        ),
      { timeoutMs: 15_000, what: 'EU tenant served again' },
    );
    const r = await eu.query<{ port: number }>('select inet_server_port() as port');
    expect([port('n1'), port('n2')]).toContain(r.rows[0]?.port);
    await eu.end();
  });

  it("the US node's pg_stat_activity never showed an EU tenant's user", () => {
    expect(appSeen).toBeGreaterThan(0);
    expect(sightings).toEqual([]);
  });
});
