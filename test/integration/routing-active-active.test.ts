// Issue 4 acceptance on a 3-node pglogical cluster whose nodes sit behind latency relays at
// 2 / 30 / 80 ms round trip: writes go to the nearest master, fail over when it stops (within
// fall × interval + 1 s, never to the stopped node after eviction), come back after rise probes;
// reads go to the lowest-lag node and avoid one whose subscription is disabled.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startActiveActive, waitFor, type PglogicalCluster } from '../support/cluster.js';
import { startRelay, type Relay } from '../support/latency-relay.js';
import { connectClient, startMeridian, type RunningMeridian } from '../helpers/meridian.js';

const INTERVAL_MS = 300;
const FALL = 2;
let cluster: PglogicalCluster;
let relays: Relay[] = [];
let mer: RunningMeridian;
let client: pg.Client;
let portToNode: Map<number, string>;

async function servedBy(sql: string): Promise<string> {
  const r = await client.query(sql);
  return portToNode.get(r.rows[0].p)!;
}

beforeAll(async () => {
  cluster = await startActiveActive();
  await cluster.exec('create table rt_events(id bigint primary key, note text)');
  await cluster.addToReplicationSet('rt_events');
  await cluster.exec('grant all on rt_events to app');
  const rtts = [2, 30, 80];
  relays = await Promise.all(cluster.nodes.map((n, i) => startRelay({ targetHost: n.host, targetPort: n.port, delayMs: rtts[i]! / 2 })));
  portToNode = new Map(cluster.nodes.map((n) => [n.port, n.name]));
  mer = await startMeridian(null, {
    kind: 'pglogical',
    nodes: cluster.nodes.map((n, i) => ({ name: n.name, host: '127.0.0.1', port: relays[i]!.port, region: `r${i + 1}` })),
    health: `interval: ${INTERVAL_MS}ms, timeout: 1s, rise: 2, fall: ${FALL}`,
    extraYaml: `routing: { lag_tolerance: 50ms, max_read_lag: 2s, write_wait: 3s }`,
    initHeartbeat: true,
  });
  // Wait until every node's RTT and lag are known.
  await waitFor(() => mer.m.health.snapshot.nodes.every((n) => n.isUp && n.rttMs !== null && n.lagMs !== null), {
    timeoutMs: 60_000,
    what: () => 'all nodes probed with rtt and lag',
  });
  client = await connectClient(mer);
});

afterAll(async () => {
  await client?.end().catch(() => {});
  await mer?.stop();
  await Promise.all(relays.map((r) => r.close()));
  await cluster?.stop();
});

let nextId = 1;
const insert = () => servedBy(`insert into rt_events values (${nextId++}, 'x') returning inet_server_port() as p`);

describe('active-active routing', () => {
  it('sends every autocommit write to the nearest master (2 ms)', async () => {
    const served = new Set<string>();
    for (let i = 0; i < 20; i++) served.add(await insert());
    expect([...served]).toEqual(['n1']);
  });

  it('fails writes over to the 30 ms node when the nearest stops, and back after it returns', async () => {
    const n1 = cluster.node('n1');
    await n1.stop('immediate');
    const stoppedAt = Date.now();
    let firstN2At = 0;
    const after: string[] = [];
    while (Date.now() - stoppedAt < 8000) {
      const node = await insert().catch(() => 'error');
      if (node === 'n2' && firstN2At === 0) firstN2At = Date.now();
      if (firstN2At !== 0) after.push(node);
      if (after.length >= 10) break;
    }
    expect(firstN2At, 'writes reached n2').toBeGreaterThan(0);
    const tookMs = firstN2At - stoppedAt;
    // Bound from the issue: fall × interval + 1 s (plus scheduling slack on a loaded 2-core CI box).
    expect(tookMs).toBeLessThan(FALL * INTERVAL_MS + 1000 + 1500);
    expect(
      after.every((n) => n === 'n2'),
      `after failover: ${after.join(',')}`,
    ).toBe(true);
    const evicted = mer.m.health.snapshot.byName.get('n1')!;
    expect(evicted.isUp).toBe(false);

    await n1.start();
    await waitFor(async () => (await insert()) === 'n1', { timeoutMs: 30_000, intervalMs: 100, what: () => 'writes back on n1' });
  }, 60_000);

  it('moves reads away from a node whose subscription is disabled, and back when it catches up', async () => {
    const readNode = () => servedBy('select inet_server_port() as p');
    // Start from a healthy mesh (the previous test restarted n1): every link replicating, lags small.
    await cluster.waitReplicating(60_000);
    await waitFor(() => mer.m.health.snapshot.nodes.every((n) => n.isUp && n.lagMs !== null && n.lagMs < 300), {
      timeoutMs: 60_000,
      what: () => `all lags small (${mer.m.health.snapshot.nodes.map((n) => `${n.name}:${n.lagMs}`).join(' ')})`,
    });
    // Read-your-writes watermarks come from the real heartbeat rows: every node has recent ones
    // for both other masters.
    const seen = (node: string, origin: string) => mer.m.health.snapshot.byName.get(node)?.seenWrites?.get(origin) ?? 0;
    const pairs = [
      ['n1', 'n2'],
      ['n1', 'n3'],
      ['n2', 'n1'],
      ['n2', 'n3'],
      ['n3', 'n1'],
      ['n3', 'n2'],
    ] as const;
    await waitFor(() => pairs.every(([n, o]) => Date.now() - seen(n, o) < 5 * INTERVAL_MS), {
      timeoutMs: 10_000,
      what: () => `recent watermarks (${pairs.map(([n, o]) => `${n}<-${o}:${Date.now() - seen(n, o)} ms ago`).join(' ')})`,
    });
    // Make n1 (the nearest) lag: it stops receiving from n2 and n3, which keep writing heartbeats.
    await cluster.disableSubscription('n1', 'n2');
    await cluster.disableSubscription('n1', 'n3');
    const disabledAt = Date.now();
    try {
      await waitFor(
        () => {
          const n1 = mer.m.health.snapshot.byName.get('n1')!;
          return n1.lagMs !== null && n1.lagMs > 400;
        },
        { timeoutMs: 30_000, what: () => `n1 lag grows (now ${mer.m.health.snapshot.byName.get('n1')?.lagMs})` },
      );
      const served = new Set<string>();
      for (let i = 0; i < 20; i++) served.add(await readNode());
      const lags = mer.m.health.snapshot.nodes.map((n) => `${n.name}:${n.lagMs}`).join(' ');
      expect(served.has('n1'), `reads served by ${[...served].join(',')}; lags ${lags}`).toBe(false);
      // n1's watermarks for n2 and n3 stopped before the subscriptions did; n2's for n1 moves on.
      expect(seen('n1', 'n2')).toBeLessThan(disabledAt);
      expect(seen('n1', 'n3')).toBeLessThan(disabledAt);
      await waitFor(() => seen('n2', 'n1') > disabledAt, {
        timeoutMs: 10_000,
        what: () => `n2's watermark for n1 passes the disable (${seen('n2', 'n1') - disabledAt})`,
      });
    } finally {
      await cluster.enableSubscription('n1', 'n2');
      await cluster.enableSubscription('n1', 'n3');
    }
    await waitFor(async () => (await readNode()) === 'n1', { timeoutMs: 30_000, intervalMs: 200, what: () => 'reads back on n1' });
  }, 90_000);
});
