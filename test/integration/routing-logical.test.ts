// cluster.kind: logical (PostgreSQL's own publication / subscription) on two real nodes: the
// publisher is a master, the node with an enabled subscription a replica whose lag comes from the
// publisher's pg_stat_replication (pgoutput fills replay_lag). Writes go to the publisher, reads
// to both (reads_on_masters: always for this kind); a disabled subscription keeps the node a
// replica (regression: it became a master, open to writes) and makes its lag unknown (its row
// leaves pg_stat_replication), so reads leave it until it is enabled again. Read-your-writes has no watermark here: reads stay on the writer.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startSingleNode, waitFor, type SingleCluster } from '../support/cluster.js';
import { connectClient, startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let pub: SingleCluster;
let sub: SingleCluster;
let mer: RunningMeridian;
let client: pg.Client;
let nextId = 1;

const node = (name: 'pub' | 'sub') => (name === 'pub' ? pub : sub).nodes[0]!;
const nodeOf = (port: number) => (Number(port) === node('pub').port ? 'pub' : Number(port) === node('sub').port ? 'sub' : `port ${port}`);
const state = () => mer.m.health.snapshot.nodes.map((n) => `${n.name}:${n.role}:${n.isUp ? 'up' : 'down'}:lag ${n.lagMs}:rtt ${n.rttMs}`).join(' ');

/** Equal proximity (probe RTTs within the router's 1 ms tolerance, with margin): reads then take turns. */
async function equalProximity(): Promise<void> {
  await waitFor(
    () => {
      const [a, b] = mer.m.health.snapshot.nodes.map((n) => n.rttMs ?? Infinity) as [number, number];
      return Math.abs(a - b) < 0.5;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: () => `probe RTTs within 0.5 ms (${state()})` },
  );
}

async function servedBy(c: pg.Client, sql: string): Promise<string> {
  return nodeOf((await c.query(sql)).rows[0].p);
}

beforeAll(async () => {
  [pub, sub] = await Promise.all([startSingleNode({ settings: { wal_level: 'logical' } }), startSingleNode()]);
  for (const n of [node('pub'), node('sub')]) await n.query('create table lg_items(id int primary key); grant all on lg_items to public');
  await node('pub').query('create publication meridian_pub for table lg_items');
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
    extraYaml: 'routing: { lag_tolerance: 500ms, max_read_lag: 5s, write_wait: 3s }',
  });
  await waitFor(
    () => {
      const [p, s] = mer.m.health.snapshot.nodes;
      return p!.isUp && p!.role === 'master' && s!.isUp && s!.role === 'replica' && s!.lagMs !== null;
    },
    { timeoutMs: 60_000, what: state },
  );
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

describe('cluster.kind: logical', () => {
  it('roles and lag from the publication: the publisher takes every write, reads spread over both, rows replicate', async () => {
    const writes = new Set<string>();
    for (let i = 0; i < 10; i++) writes.add(await servedBy(client, `insert into lg_items values (${nextId++}) returning inet_server_port() as p`));
    expect([...writes]).toEqual(['pub']);
    // Both are read nodes; at equal lag and proximity, reads take turns.
    await equalProximity();
    const reads = new Set<string>();
    for (let i = 0; i < 10; i++) reads.add(await servedBy(client, 'select inet_server_port() as p'));
    expect([...reads].sort(), state()).toEqual(['pub', 'sub']);
    await waitFor(async () => (await node('sub').query<{ n: number }>('select count(*)::int as n from lg_items'))[0]!.n === nextId - 1, {
      timeoutMs: 10_000,
      what: 'rows replicated to the subscriber',
    });
  });

  it("a disabled subscription: the subscriber's lag is unknown and reads leave it; enabled, they come back", async () => {
    await node('sub').query('alter subscription meridian_sub disable');
    try {
      // Still a replica (a disabled subscriber must never take writes), with its lag unknown.
      await waitFor(() => mer.m.health.snapshot.byName.get('sub')?.lagMs === null, { timeoutMs: 10_000, what: state });
      expect(mer.m.health.snapshot.byName.get('sub')?.role).toBe('replica');
      expect(await servedBy(client, `insert into lg_items values (${nextId++}) returning inet_server_port() as p`)).toBe('pub');
      const reads = new Set<string>();
      for (let i = 0; i < 10; i++) reads.add(await servedBy(client, 'select inet_server_port() as p'));
      expect([...reads], state()).toEqual(['pub']);
    } finally {
      await node('sub').query('alter subscription meridian_sub enable');
    }
    await equalProximity();
    await waitFor(async () => (await servedBy(client, 'select inet_server_port() as p')) === 'sub', { timeoutMs: 20_000, intervalMs: 100, what: state });
  });

  it('read-your-writes without a watermark: reads after a write stay on the publisher', async () => {
    await equalProximity(); // without read-your-writes, the read after a write would take the subscriber's turn
    const c = new pg.Client({ connectionString: mer.dsn(), options: '-c meridian.read_your_writes=on' } as pg.ClientConfig);
    c.on('error', () => {});
    await c.connect();
    try {
      for (let i = 0; i < 5; i++) {
        const id = nextId++;
        await c.query(`insert into lg_items values (${id})`);
        const r = await c.query(`select inet_server_port() as p, exists(select 1 from lg_items where id = ${id}) as found`);
        expect({ node: nodeOf(r.rows[0].p), found: r.rows[0].found }).toEqual({ node: 'pub', found: true });
      }
    } finally {
      await c.end().catch(() => {});
    }
  });
});
