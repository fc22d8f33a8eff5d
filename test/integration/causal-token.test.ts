// Causal tokens across connections and Meridian instances (routing.report_causal_token, SHOW /
// SET meridian.causal_token, -c meridian.causal_token=…) on a primary + one streaming standby whose
// replay is delayed by 1.5 s (recovery_min_apply_delay), with two Meridian instances in front,
// each with its own health monitor and no shared state:
//  * without a token, a read through instance B right after a write through instance A lands on
//    the standby and misses the row (the delay is real);
//  * with the token of that write, on a new connection to B, every one of 50 reads sees it;
//  * malformed tokens and tokens naming another cluster's node are refused with 22023 (SET, and
//    FATAL at startup); SET LOCAL is 0A000;
//  * with the primary drained on B, a token's read waits routing.causal_wait for the standby to
//    replay the write (and is served there), or fails with 57M02 when the wait is shorter.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPrimaryStandby, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { adminRows, startMeridian, type RunningMeridian } from '../helpers/meridian.js';

const DELAY_MS = 1500;
let cluster: PhysicalCluster;
let a: RunningMeridian;
let b: RunningMeridian;
const clients: pg.Client[] = [];
let nextId = 1;

const nodeOf = (port: number) => cluster.nodes.find((n) => n.port === Number(port))?.name ?? `port ${port}`;

async function connect(m: RunningMeridian, options?: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: m.dsn(), ...(options !== undefined ? { options } : {}) } as pg.ClientConfig);
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
}

async function readBack(c: pg.Client, id: number): Promise<{ node: string; found: boolean }> {
  const r = await c.query(`select inet_server_port() as p, exists(select 1 from causal_items where id = ${id}) as found`);
  return { node: nodeOf(r.rows[0].p), found: r.rows[0].found as boolean };
}

const ROUTING = 'max_read_lag: 120s, lag_tolerance: 120s, write_wait: 3s';
const HEALTH = 'interval: 200ms, timeout: 2s, rise: 1, fall: 3';
const allUp = (m: RunningMeridian) => () => m.m.health.snapshot.nodes.every((n) => n.isUp && n.lagMs !== null);

beforeAll(async () => {
  cluster = await startPrimaryStandby({ standbys: 1, applyDelayMs: { s1: DELAY_MS } });
  await cluster.exec('create table causal_items(id int primary key); grant all on causal_items to public');
  await cluster.waitReplayed(60_000);
  a = await startMeridian(cluster, { kind: 'physical', health: HEALTH, extraYaml: `routing: { ${ROUTING}, report_causal_token: true }` });
  b = await startMeridian(cluster, { kind: 'physical', health: HEALTH, extraYaml: `routing: { ${ROUTING}, causal_wait: 5s }` });
  await waitFor(allUp(a), { timeoutMs: 60_000, what: 'instance A sees both nodes' });
  await waitFor(allUp(b), { timeoutMs: 60_000, what: 'instance B sees both nodes' });
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => {});
  await a?.stop();
  await b?.stop();
  await cluster?.stop();
});

/** An autocommit insert through `c` (on A): its id and the token A reported for it. */
async function write(c: pg.Client, reported: string[]): Promise<{ id: number; token: string }> {
  const id = nextId++;
  const before = reported.length;
  const r = await c.query(`insert into causal_items values (${id}) returning inet_server_port() as p`);
  expect(nodeOf(r.rows[0].p)).toBe('primary');
  expect(reported.length).toBe(before + 1); // the ParameterStatus came with the write's answer
  const shown = (await c.query('show meridian.causal_token')).rows[0].causal_token as string;
  expect(shown).toBe(reported[reported.length - 1]);
  return { id, token: shown };
}

describe('causal tokens across connections and instances', () => {
  it('a write through A is read through B on a new connection with its token, 50 times of 50; without it, reads miss it', async () => {
    const writer = await connect(a);
    const reported: string[] = [];
    (writer as unknown as { connection: { on(e: string, f: (m: { parameterName: string; parameterValue: string }) => void): void } }).connection.on(
      'parameterStatus',
      (m) => {
        if (m.parameterName === 'meridian.causal_token') reported.push(m.parameterValue);
      },
    );
    let missedWithout = 0;
    const plain = await connect(b);
    for (let i = 0; i < 10; i++) {
      const { id } = await write(writer, reported);
      if (!(await readBack(plain, id)).found) missedWithout++;
    }
    expect(missedWithout).toBeGreaterThan(0); // the standby's delay is real: B's plain reads go there

    const servedBy = new Map<string, number>();
    for (let i = 0; i < 50; i++) {
      const { id, token } = await write(writer, reported);
      const reader = new pg.Client({ connectionString: b.dsn(), options: `-c meridian.causal_token=${token}` } as pg.ClientConfig);
      reader.on('error', () => {});
      await reader.connect();
      try {
        const r = await readBack(reader, id);
        expect(r.found, `try ${i}: row ${id} read on ${r.node}`).toBe(true);
        servedBy.set(r.node, (servedBy.get(r.node) ?? 0) + 1);
        expect((await reader.query('show meridian.causal_token')).rows[0].causal_token).toBe(token);
      } finally {
        await reader.end();
      }
    }
    console.log(
      `[causal] without a token ${missedWithout} of 10 reads through B missed the write; with it 50 of 50 saw it, served by ${JSON.stringify([...servedBy])}`,
    );

    // SET on a connection B already has, then RESET.
    const { id, token } = await write(writer, reported);
    await plain.query(`set meridian.causal_token = '${token}'`);
    expect(await readBack(plain, id)).toMatchObject({ found: true });
    await plain.query('reset meridian.causal_token');
    expect((await plain.query('show meridian.causal_token')).rows[0].causal_token).toBe('');
  }, 120_000);

  it('malformed and foreign tokens are refused with 22023; SET LOCAL with 0A000', async () => {
    const c = await connect(b);
    const foreign = 'mct1.' + Buffer.from(JSON.stringify(['elsewhere', Date.now()])).toString('base64url');
    for (const bad of ['garbage', 'mct1.@@', foreign]) {
      const err = await c.query(`set meridian.causal_token = '${bad}'`).catch((e: { code?: string; message: string }) => e);
      expect((err as { code?: string }).code, bad).toBe('22023');
    }
    expect(((await c.query('select 1 as x')).rows[0] as { x: number }).x).toBe(1); // the session goes on
    await c.query('begin');
    const local = await c.query("set local meridian.causal_token = 'x'").catch((e: { code?: string }) => e);
    expect((local as { code?: string }).code).toBe('0A000');
    await c.query('rollback');
    const s = new pg.Client({ connectionString: b.dsn(), options: `-c meridian.causal_token=${foreign}` } as pg.ClientConfig);
    s.on('error', () => {});
    const startErr = await s.connect().catch((e: { code?: string }) => e);
    expect((startErr as { code?: string }).code).toBe('22023');
  }, 60_000);

  it("the write's node drained on B: a token's read waits causal_wait for the standby, or fails with 57M02", async () => {
    const writer = await connect(a);
    await adminRows(b.port, 'DRAIN primary FORCE');
    try {
      await waitFor(() => b.m.health.snapshot.nodes.find((n) => n.name === 'primary')?.state !== 'active', {
        timeoutMs: 10_000,
        what: 'primary draining on B',
      });
      // causal_wait 5s (B's setting): served by the standby once it replayed the write (~1.5 s).
      let id = nextId++;
      await writer.query(`insert into causal_items values (${id})`);
      let token = (await writer.query('show meridian.causal_token')).rows[0].causal_token as string;
      const r1 = await connect(b, `-c meridian.causal_token=${token}`);
      const t0 = Date.now();
      expect(await readBack(r1, id)).toEqual({ node: 's1', found: true });
      const waited = Date.now() - t0;
      console.log(`[causal] with the primary drained, the read waited ${waited} ms for the standby`);
      expect(waited).toBeGreaterThan(300);
      // A shorter wait (SET by no one: a third instance with causal_wait 200ms) fails with 57M02.
      const c = await startMeridian(cluster, { kind: 'physical', health: HEALTH, extraYaml: `routing: { ${ROUTING}, causal_wait: 200ms }` });
      try {
        await waitFor(allUp(c), { timeoutMs: 60_000, what: 'instance C sees both nodes' });
        await adminRows(c.port, 'DRAIN primary FORCE');
        id = nextId++;
        await writer.query(`insert into causal_items values (${id})`);
        token = (await writer.query('show meridian.causal_token')).rows[0].causal_token as string;
        const r2 = await connect(c, `-c meridian.causal_token=${token}`);
        const t1 = Date.now();
        const err = await readBack(r2, id).catch((e: { code?: string; message: string }) => e);
        console.log(`[causal] causal_wait 200ms: ${JSON.stringify(err)} after ${Date.now() - t1} ms`);
        expect((err as { code?: string }).code).toBe('57M02');
      } finally {
        await c.stop();
      }
    } finally {
      await adminRows(b.port, 'UNDRAIN primary');
    }
  }, 120_000);
});
