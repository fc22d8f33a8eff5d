// Issue 4 acceptance on a primary with two streaming standbys: reads go to standbys and writes
// to the primary; a standby with replay paused lags and reads avoid it; when every standby lags
// past max_read_lag, reads fall back to the primary; a promoted standby takes the writes once the
// old primary stops.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPrimaryStandby, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { connectClient, startMeridian, type RunningMeridian } from '../helpers/meridian.js';

const INTERVAL_MS = 300;
const FALL = 2;
let cluster: PhysicalCluster;
let mer: RunningMeridian;
let client: pg.Client;
let portToNode: Map<number, string>;

async function servedBy(sql: string): Promise<string> {
  const r = await client.query(sql);
  return portToNode.get(r.rows[0].p)!;
}
const readNode = () => servedBy('select inet_server_port() as p');
let nextId = 1;
const writeNode = () => servedBy(`insert into rp_events values (${nextId++}) returning inet_server_port() as p`);
const lags = () => mer.m.health.snapshot.nodes.map((n) => `${n.name}:${n.role}:${n.lagMs}`).join(' ');

beforeAll(async () => {
  cluster = await startPrimaryStandby();
  await cluster.exec('create table rp_events(id bigint primary key); grant all on rp_events to app');
  portToNode = new Map(cluster.nodes.map((n) => [n.port, n.name]));
  mer = await startMeridian(cluster, {
    kind: 'physical',
    health: `interval: ${INTERVAL_MS}ms, timeout: 1s, rise: 2, fall: ${FALL}`,
    extraYaml: 'routing: { max_read_lag: 1500ms, lag_tolerance: 100ms, write_wait: 3s }',
  });
  client = await connectClient(mer);
});

afterAll(async () => {
  await client?.end().catch(() => {});
  await mer?.stop();
  await cluster?.stop();
});

describe('primary/standby routing', () => {
  it('sends reads to standbys and writes to the primary', async () => {
    const reads = new Set<string>();
    const writes = new Set<string>();
    for (let i = 0; i < 20; i++) {
      reads.add(await readNode());
      writes.add(await writeNode());
    }
    expect([...writes]).toEqual(['primary']);
    expect(reads.has('primary'), `reads: ${[...reads].join(',')}`).toBe(false);
  });

  it('avoids a standby whose replay is paused, and falls back to the primary when all lag', async () => {
    await cluster.pauseReplay('s1');
    try {
      await waitFor(
        async () => {
          await writeNode();
          const s1 = mer.m.health.snapshot.byName.get('s1')!;
          return s1.lagMs !== null && s1.lagMs > 400;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: () => `s1 lagging (${lags()})` },
      );
      const reads = new Set<string>();
      for (let i = 0; i < 20; i++) reads.add(await readNode());
      expect([...reads], lags()).toEqual(['s2']);

      await cluster.pauseReplay('s2');
      await waitFor(
        async () => {
          await writeNode();
          return mer.m.health.snapshot.nodes.filter((n) => n.role === 'replica').every((n) => n.lagMs === null || n.lagMs > 1500);
        },
        { timeoutMs: 30_000, intervalMs: 100, what: () => `both standbys past max_read_lag (${lags()})` },
      );
      const fallback = new Set<string>();
      for (let i = 0; i < 10; i++) fallback.add(await readNode());
      expect([...fallback], lags()).toEqual(['primary']);
    } finally {
      await cluster.resumeReplay('s1');
      await cluster.resumeReplay('s2');
    }
    await waitFor(async () => (await readNode()) !== 'primary', { timeoutMs: 30_000, intervalMs: 200, what: () => `reads back on standbys (${lags()})` });
  }, 90_000);

  it('follows a promoted standby once the old primary stops', async () => {
    await cluster.waitReplayed(30_000);
    await cluster.node('s2').promote();
    await cluster.primary.stop('immediate');
    const stoppedAt = Date.now();
    const node = await waitFor(
      async () => {
        const n = await writeNode().catch(() => null);
        return n === 's2' ? n : null;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: () => `writes on s2 (${lags()})` },
    );
    expect(node).toBe('s2');
    const tookMs = Date.now() - stoppedAt;
    expect(tookMs, `writes followed after ${tookMs} ms`).toBeLessThan(FALL * INTERVAL_MS + 1000 + 1500);
    for (let i = 0; i < 5; i++) expect(await writeNode()).toBe('s2');
  }, 60_000);
});
