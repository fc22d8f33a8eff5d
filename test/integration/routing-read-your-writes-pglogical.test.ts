// Read-your-writes on a 2-node pglogical cluster where each node applies the other's changes
// 1.5 s late (pglogical apply_delay), through Meridian: both nodes are masters with the same lag,
// so reads take turns between them while writes go to the nearest. A session without
// read-your-writes then reads its own insert from the other node and misses it; with it, its
// reads stay on the node that took the write (or one whose heartbeat watermark passed it), and
// return to both nodes once the write has replicated.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startActiveActive, waitFor, type PglogicalCluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';

const DELAY_MS = 1500;
let cluster: PglogicalCluster;
let mer: RunningMeridian;
const clients: pg.Client[] = [];
let nextId = 1;

const nodeOf = (port: number) => cluster.nodes.find((n) => n.port === Number(port))?.name ?? `port ${port}`;
const state = () => mer.m.health.snapshot.nodes.map((n) => `${n.name}:lag ${n.lagMs}:seen ${JSON.stringify([...(n.seenWrites ?? new Map())])}`).join(' ');

async function connect(ryw: 'on' | 'off'): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: mer.dsn(), options: `-c meridian.read_your_writes=${ryw}` } as pg.ClientConfig);
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
}

/** Inserts a row, then reads it back at once: where each ran and whether the row was there. */
async function writeThenRead(c: pg.Client): Promise<{ wrote: string; read: string; found: boolean }> {
  const id = nextId++;
  const w = await c.query(`insert into ryw_pl values (${id}) returning inet_server_port() as p`);
  const r = await c.query(`select inet_server_port() as p, exists(select 1 from ryw_pl where id = ${id}) as found`);
  return { wrote: nodeOf(w.rows[0].p), read: nodeOf(r.rows[0].p), found: r.rows[0].found as boolean };
}

beforeAll(async () => {
  cluster = await startActiveActive({ nodes: 2, applyDelayMs: { n1: DELAY_MS, n2: DELAY_MS } });
  await cluster.exec('create table ryw_pl(id int primary key)');
  await cluster.addToReplicationSet('ryw_pl');
  await cluster.exec('grant all on ryw_pl to app');
  // Both nodes lag about DELAY_MS: equal for reads (tolerance), eligible (max_read_lag).
  mer = await startMeridian(null, {
    kind: 'pglogical',
    nodes: cluster.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port, region: 'local' })),
    health: 'interval: 200ms, timeout: 2s, rise: 1, fall: 3',
    extraYaml: 'routing: { lag_tolerance: 10s, max_read_lag: 30s, write_wait: 3s }',
    initHeartbeat: true,
  });
  // Ready once each node has the other's heartbeat row (it arrives after the apply delay).
  await waitFor(() => mer.m.health.snapshot.nodes.every((n) => n.isUp && n.lagMs !== null && n.seenWrites?.size === cluster.nodes.length), {
    timeoutMs: 60_000,
    what: state,
  });
}, 180_000);

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => {});
  await mer?.stop();
  await cluster?.stop();
});

describe('read-your-writes (pglogical, 1.5 s apply delay)', () => {
  it('without it, a read right after the write misses the row on the other node', async () => {
    const c = await connect('off');
    const rounds = [];
    for (let i = 0; i < 10; i++) rounds.push(await writeThenRead(c));
    const stale = rounds.filter((r) => !r.found);
    expect(stale.length, `rounds ${JSON.stringify(rounds)}; ${state()}`).toBeGreaterThan(0);
    expect(stale.every((r) => r.read !== r.wrote)).toBe(true);
  }, 60_000);

  it('with it, every read right after the write sees the row, then reads spread again once it replicated', async () => {
    const c = await connect('on');
    let writer = '';
    for (let i = 0; i < 10; i++) {
      const r = await writeThenRead(c);
      expect(r.found, `round ${i}: ${JSON.stringify(r)}; ${state()}`).toBe(true);
      writer = r.wrote;
    }
    // Replicated after the apply delay and a heartbeat or two: reads go to the other node again.
    const other = cluster.nodes.find((n) => n.name !== writer)!.name;
    await waitFor(
      async () => {
        const r = await c.query(`select inet_server_port() as p, exists(select 1 from ryw_pl where id = ${nextId - 1}) as found`);
        if (nodeOf(r.rows[0].p) !== other) return false;
        expect(r.rows[0].found).toBe(true);
        return true;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: () => `a read on ${other} (${state()})` },
    );
  }, 60_000);
});
