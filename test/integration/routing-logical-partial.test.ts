// cluster.kind: logical with a partial publication: the subscriber receives some tables, has
// others of its own (not replicated, with different rows), and lacks some the publisher has.
// Reads go to the subscriber (reads_on_masters: fallback) only when every relation they name is
// replicated into it; otherwise to the publisher:
//  * a table the subscriber has but does not receive, alone or in a join, in the simple and the
//    extended protocol, and through a SQL-level prepared statement: served by the publisher, with
//    the publisher's rows;
//  * a table the subscriber lacks: its 42P01 there sends the read again to the publisher;
//  * names resolve over the session's search_path: with a local schema of the subscriber first,
//    an unqualified name read goes to the publisher;
//  * a table added to the publication while Meridian runs moves to the subscriber once its initial
//    copy is done.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startSingleNode, waitFor, type SingleCluster } from '../support/cluster.js';
import { connectClient, startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let pub: SingleCluster;
let sub: SingleCluster;
let mer: RunningMeridian;
let client: pg.Client;

const node = (name: 'pub' | 'sub') => (name === 'pub' ? pub : sub).nodes[0]!;
const nodeOf = (port: number) => (Number(port) === node('pub').port ? 'pub' : Number(port) === node('sub').port ? 'sub' : `port ${port}`);
const subSnap = () => mer.m.health.snapshot.byName.get('sub')!;

/** Which node served `sql` (it selects inet_server_port() as p) and its first row's v. */
async function served(c: pg.Client, sql: string, params?: unknown[]): Promise<{ node: string; v: unknown }> {
  const r = await c.query(sql, params);
  return { node: nodeOf(r.rows[0].p), v: r.rows[0].v };
}

beforeAll(async () => {
  [pub, sub] = await Promise.all([startSingleNode({ settings: { wal_level: 'logical' } }), startSingleNode()]);
  const ddl = `create table lg_pub(id int primary key, v text); create table lg_local(id int primary key, v text); create table lg_later(id int primary key, v text);
    grant all on lg_pub, lg_local, lg_later to public`;
  for (const n of [node('pub'), node('sub')]) await n.query(ddl);
  await node('pub').query(`create table lg_absent(id int primary key, v text); grant all on lg_absent to public;
    insert into lg_pub values (1, 'replicated'); insert into lg_local values (1, 'publisher'); insert into lg_later values (1, 'later'); insert into lg_absent values (1, 'absent')`);
  await node('sub').query(`insert into lg_local values (1, 'subscriber-only');
    create schema s2; create table s2.lg_pub(id int primary key, v text); grant usage on schema s2 to public; grant all on s2.lg_pub to public; insert into s2.lg_pub values (1, 'shadow')`);
  await node('pub').query('create publication meridian_pub for table lg_pub');
  await node('sub').query(
    `create subscription meridian_sub connection 'host=${node('pub').host} port=${node('pub').port} dbname=app user=postgres' publication meridian_pub`,
  );
  mer = await startMeridian(null, {
    kind: 'logical',
    nodes: [
      { name: 'pub', host: node('pub').host, port: node('pub').port, region: 'local' },
      { name: 'sub', host: node('sub').host, port: node('sub').port, region: 'local' },
    ],
    health: 'interval: 200ms, timeout: 2s, rise: 1, fall: 3',
    extraYaml: 'routing: { reads_on_masters: fallback, max_read_lag: 30s, write_wait: 3s }',
  });
  await waitFor(() => subSnap().isUp && subSnap().role === 'replica' && subSnap().lagMs !== null && subSnap().unreplicated?.has('public.lg_pub') === false, {
    timeoutMs: 60_000,
    what: () => `subscriber ready: ${JSON.stringify({ ...subSnap(), unreplicated: [...(subSnap().unreplicated ?? [])] })}`,
  });
  await waitFor(async () => (await node('sub').query('select 1 from lg_pub where id = 1')).length === 1, { timeoutMs: 30_000, what: 'initial copy' });
  client = await connectClient(mer);
}, 120_000);

afterAll(async () => {
  await client?.end().catch(() => {});
  await mer?.stop();
  await node('sub')
    ?.query('drop subscription if exists meridian_sub')
    .catch(() => {});
  await Promise.all([sub?.stop(), pub?.stop()]);
});

describe('logical replication with a partial publication', () => {
  it('the subscriber reports what it holds without receiving it', () => {
    const u = subSnap().unreplicated ?? new Set<string>();
    for (const t of ['public.lg_later', 'public.lg_local', 's2.lg_pub']) expect(u.has(t), t).toBe(true);
    expect(u.has('public.lg_pub')).toBe(false);
    expect(mer.m.health.snapshot.byName.get('pub')!.unreplicated ?? null).toBeNull();
  });

  it('a read of replicated tables goes to the subscriber; one naming a table it does not receive goes to the publisher', async () => {
    for (let i = 0; i < 5; i++)
      expect(await served(client, 'select inet_server_port() as p, v from lg_pub where id = 1')).toEqual({ node: 'sub', v: 'replicated' });
    for (let i = 0; i < 5; i++)
      expect(await served(client, 'select inet_server_port() as p, v from lg_local where id = 1')).toEqual({ node: 'pub', v: 'publisher' });
    expect(await served(client, 'select inet_server_port() as p, l.v from lg_pub p join public.lg_local l using (id)')).toEqual({
      node: 'pub',
      v: 'publisher',
    });
    expect(await served(client, 'select inet_server_port() as p, (select v from lg_local limit 1) as v')).toEqual({ node: 'pub', v: 'publisher' });
    expect(await served(client, 'with x as (select v from lg_pub) select inet_server_port() as p, v from x'), 'cte').toEqual({ node: 'sub', v: 'replicated' });
    // The extended protocol (Parse/Bind/Execute), and a SQL-level prepared statement.
    expect(await served(client, 'select inet_server_port() as p, v from lg_local where id = $1', [1])).toEqual({ node: 'pub', v: 'publisher' });
    expect(await served(client, 'select inet_server_port() as p, v from lg_pub where id = $1', [1]), 'extended').toEqual({ node: 'sub', v: 'replicated' });
    await client.query('prepare q_local as select inet_server_port() as p, v from lg_local where id = 1');
    expect(await served(client, 'execute q_local')).toEqual({ node: 'pub', v: 'publisher' });
    await client.query('deallocate q_local');
  });

  it('a table the subscriber lacks: its 42P01 sends the read to the publisher', async () => {
    expect(await served(client, 'select inet_server_port() as p, v from lg_absent where id = 1')).toEqual({ node: 'pub', v: 'absent' });
  });

  it("names resolve over the session's search_path", async () => {
    const c = await connectClient(mer);
    try {
      await c.query('set search_path = s2, public');
      // s2.lg_pub exists on the subscriber only (not replicated): the publisher resolves lg_pub to public.lg_pub.
      expect(await served(c, 'select inet_server_port() as p, v from lg_pub where id = 1')).toEqual({ node: 'pub', v: 'replicated' });
      expect(await served(c, 'select inet_server_port() as p, v from public.lg_pub where id = 1')).toEqual({ node: 'sub', v: 'replicated' });
    } finally {
      await c.end();
    }
  });

  it('a table added to the publication while Meridian runs moves to the subscriber once copied', async () => {
    expect(await served(client, 'select inet_server_port() as p, v from lg_later where id = 1')).toEqual({ node: 'pub', v: 'later' });
    await node('pub').query('alter publication meridian_pub add table lg_later');
    await node('sub').query('alter subscription meridian_sub refresh publication');
    await waitFor(() => subSnap().unreplicated?.has('public.lg_later') === false, { timeoutMs: 30_000, what: 'lg_later replicated into the subscriber' });
    expect(await served(client, 'select inet_server_port() as p, v from lg_later where id = 1')).toEqual({ node: 'sub', v: 'later' });
  });
});
