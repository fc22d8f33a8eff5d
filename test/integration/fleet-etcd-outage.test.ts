// Issue 19 acceptance (item 3, fail static): etcd stopped (SIGSTOP: it hangs, every call times
// out) for 10 s while pgbench runs through three Meridian instances of a fleet. Traffic never
// notices: 0 failed transactions. Every instance says `stale` (SHOW FLEET, meridian_fleet_stale)
// and refuses a fleet-wide DRAIN with 57M03 meanwhile. Once etcd runs again every instance is
// `ok` again and registered (a new lease where the old one expired), and a DRAIN works. An
// instance started while etcd cannot be reached starts anyway, stale, and serves.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName, waitFor, type PglogicalCluster } from '../support/cluster.js';
import { startEtcd, type EtcdServer } from '../support/etcd.js';
import { adminRows, connectClient, type RunningMeridian } from '../helpers/meridian.js';
import { freePort } from '../support/ports.js';
import { ownStatus, pgbenchCounts, pgbenchThrough, showFleet, startInstance, startPgbenchCluster } from '../helpers/fleet.js';

const OUTAGE_MS = 10_000;
let cluster: PglogicalCluster;
let etcd: EtcdServer;
let isPaused = false;
const prefix = `/${uniqueName('fleet')}`;
const mers: RunningMeridian[] = [];

const staleGauge = async (m: RunningMeridian): Promise<number> =>
  (await m.m.metrics.registry.getSingleMetric('meridian_fleet_stale')?.get())?.values[0]?.value ?? -1;

beforeAll(async () => {
  [cluster, etcd] = await Promise.all([startPgbenchCluster(), startEtcd()]);
  // A short lease: the outage outlives it, so the instances must register again afterwards.
  for (const name of ['a', 'b', 'c']) mers.push(await startInstance(cluster, etcd, prefix, name, 'lease_ttl: 4s'));
  await waitFor(() => mers.every((m) => m.m.snapshot().nodes.every((n) => n.isUp && n.lagMs !== null)), {
    timeoutMs: 30_000,
    what: 'every node up with a known lag on every instance',
  });
  await waitFor(async () => (await Promise.all(mers.map(showFleet))).every((rows) => rows.length === 3), { timeoutMs: 10_000, what: 'three members' });
}, 240_000);

afterAll(async () => {
  if (isPaused) process.kill(etcd.pid, 'SIGCONT');
  for (const m of mers) await m.stop().catch(() => {});
  await etcd?.stop();
  await cluster?.stop();
});

describe('fail static: etcd unreachable under load', () => {
  it('etcd stopped for 10 s: 0 failed transactions, every instance stale and refusing fleet DRAIN (57M03); after it returns, ok again and DRAIN works', async () => {
    const benches = mers.map((m) => pgbenchThrough(m, 4, 20));
    await waitFor(async () => (await mers[0]!.m.metrics.routedTotal.get()).values.reduce((a, v) => a + v.value, 0) > 100, {
      timeoutMs: 30_000,
      what: 'pgbench load',
    });
    for (const m of mers) expect(await ownStatus(m)).toBe('ok');

    process.kill(etcd.pid, 'SIGSTOP');
    isPaused = true;
    const pausedAt = Date.now();
    await waitFor(async () => (await Promise.all(mers.map(ownStatus))).every((s) => s.startsWith('stale')), {
      timeoutMs: 8_000,
      what: 'every instance stale',
    });
    const staleAfterMs = Date.now() - pausedAt;
    for (const m of mers) expect(await staleGauge(m)).toBe(1);
    // Fleet-wide commands are refused at once, with their own SQLSTATE; nothing changed.
    const refusedAt = Date.now();
    const err = (await adminRows(mers[1]!.port, 'DRAIN n2').catch((e: unknown) => e)) as { code?: string; message?: string };
    expect(err.code).toBe('57M03');
    expect(err.message).toMatch(/etcd is unreachable/);
    expect(Date.now() - refusedAt).toBeLessThan(2_000);
    const undrainErr = (await adminRows(mers[2]!.port, 'UNDRAIN n2').catch((e: unknown) => e)) as { code?: string };
    expect(undrainErr.code).toBe('57M03');
    for (const m of mers) expect(m.m.snapshot().byName.get('n2')?.state).toBe('active');
    // The last known members stay listed.
    expect((await showFleet(mers[0]!)).map((r) => r.status)).toEqual([expect.stringMatching(/^stale since /), 'last known', 'last known']);

    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - pausedAt))));
    process.kill(etcd.pid, 'SIGCONT');
    isPaused = false;
    const resumedAt = Date.now();
    await waitFor(async () => (await Promise.all(mers.map(ownStatus))).every((s) => s === 'ok'), { timeoutMs: 15_000, what: 'every instance ok again' });
    const okAfterMs = Date.now() - resumedAt;
    // Registered again (the 4 s leases ran out during the outage): fresh heartbeats from all three, seen by each.
    await waitFor(
      async () => (await Promise.all(mers.map(showFleet))).every((rows) => rows.length === 3 && rows.every((r) => Number(r.heartbeat_age_ms) < 3_000)),
      { timeoutMs: 10_000, what: 'every instance registered again with fresh heartbeats' },
    );
    for (const m of mers) expect(await staleGauge(m)).toBe(0);

    const [drained] = await adminRows(mers[1]!.port, 'DRAIN n2 5s');
    expect(drained).toMatchObject({ node: 'n2', state: 'drained' });
    for (const m of mers) expect(m.m.snapshot().byName.get('n2')?.state).toBe('drained');
    await adminRows(mers[2]!.port, 'UNDRAIN n2');

    const results = (await Promise.all(benches)).map(pgbenchCounts);
    for (const r of results) {
      expect(r.failed, r.out).toBe(0);
      expect(r.processed, r.out).toBeGreaterThan(50);
      expect(r.out).not.toMatch(/aborted|error/i);
    }
    console.log(
      `etcd paused ${OUTAGE_MS} ms: all stale after ${staleAfterMs} ms, all ok ${okAfterMs} ms after it resumed; ` +
        `pgbench ${results.map((r) => `${r.processed} tx ${r.failed} failed`).join(', ')}`,
    );
  }, 90_000);

  it('an instance whose etcd is unreachable at start starts anyway (stale, no fleet state) and serves', async () => {
    const dead = { clientUrl: `http://127.0.0.1:${await freePort()}` } as EtcdServer; // nothing listens there
    const t0 = Date.now();
    const lone = await startInstance(cluster, dead, prefix, 'lone');
    try {
      const startMs = Date.now() - t0;
      expect(await ownStatus(lone)).toMatch(/^stale since /);
      const c = await connectClient(lone);
      try {
        expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await c.end();
      }
      const err = (await adminRows(lone.port, 'DRAIN n3').catch((e: unknown) => e)) as { code?: string };
      expect(err.code).toBe('57M03');
      console.log(`an instance with etcd unreachable started (stale) in ${startMs} ms and served`);
    } finally {
      await lone.stop();
    }
  });
});
