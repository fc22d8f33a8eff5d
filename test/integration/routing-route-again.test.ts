// A request whose node cannot be connected to has not run anywhere: Meridian routes it again
// (issue 18, item 1) instead of answering 08001, and so does a login that needs the server's
// parameters from a node. Reads go to the next eligible node; a write waits
// up to routing.write_wait for a master (here: the primary, stopped and started again). Probes are
// slow on purpose (every 2 s, 3 failures to evict), so the failed connect, not a probe, is what
// first tells Meridian that the node is gone. A primary + 2 standbys of this file's own: it stops
// nodes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPrimaryStandby, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { signalNode } from '../fault/helpers/node-signals.js';

let cluster: PhysicalCluster;
let mer: RunningMeridian;

beforeAll(async () => {
  cluster = await startPrimaryStandby({ standbys: 2 });
  mer = await startMeridian(cluster, {
    kind: 'physical',
    pool: 'mode: transaction, size: 5, queue_timeout: 5s',
    health: 'interval: 2s, timeout: 1s, rise: 1, fall: 3',
    extraYaml: 'routing: { reads_on_masters: fallback, write_wait: 8s }',
  });
});

afterAll(async () => {
  await mer?.stop();
  await cluster?.stop();
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client(mer.dsn());
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function reroutes(cls: 'read' | 'write'): Promise<number> {
  const m = await mer.m.metrics.registry.getSingleMetric('meridian_reroutes_total')?.get();
  return m?.values.find((v) => v.labels.class === cls)?.value ?? 0;
}

describe('requests that have not run are routed again', () => {
  it("a user's first login, which asks a node (a standby first) for the server's parameters, picks another when both standbys were stopped", async () => {
    await Promise.all(cluster.standbys.map((s) => s.stop('immediate')));
    const t1 = performance.now();
    const fresh = new pg.Client(mer.dsn('md5user'));
    fresh.on('error', () => {});
    try {
      await fresh.connect();
      const f = await fresh.query<{ one: number }>('select 1 as one');
      console.log(`[route-again] first login with both standbys stopped: in ${(performance.now() - t1).toFixed(0)} ms`);
      expect(f.rows[0]!.one).toBe(1);
    } finally {
      await fresh.end().catch(() => {});
      await Promise.all(cluster.standbys.map((s) => s.start()));
    }
    // Both back in routing before the next test (probes: every 2 s, rise 1).
    await waitFor(() => cluster.standbys.every((s) => mer.m.health.snapshot.byName.get(s.name)?.isUp === true), {
      timeoutMs: 20_000,
      what: 'both standbys up again',
    });
  });

  it('a read whose standbys were both stopped (not yet noticed by probes) is served by the primary', async () => {
    const c = await client();
    try {
      // No read has run yet: the standbys' pools are empty, so the read must connect.
      await Promise.all(cluster.standbys.map((s) => s.stop('immediate')));
      const before = await reroutes('read');
      const t0 = performance.now();
      const r = await c.query<{ port: number }>('select inet_server_port() as port');
      const ms = performance.now() - t0;
      const again = (await reroutes('read')) - before;
      console.log(`[route-again] read after both standbys stopped: served by port ${r.rows[0]!.port} in ${ms.toFixed(0)} ms, routed again ${again}×`);
      expect(r.rows[0]!.port).toBe(cluster.primary.port);
      expect(again).toBeGreaterThanOrEqual(1);
    } finally {
      await c.end();
      await Promise.all(cluster.standbys.map((s) => s.start()));
    }
  });

  it('a write to a stopped primary waits (routing.write_wait) and runs once it is back', async () => {
    await cluster.primary.query('create table if not exists route_again(id int); grant all on route_again to public');
    const c = await client();
    try {
      // The session's own pool on the primary: no idle backend survives the stop.
      await cluster.primary.stop('immediate');
      await new Promise((r) => setTimeout(r, 300));
      const before = await reroutes('write');
      const t0 = performance.now();
      const restart = new Promise<void>((resolve, reject) => setTimeout(() => cluster.primary.start().then(resolve, reject), 1000));
      const r = await c.query<{ port: number }>('insert into route_again values (1) returning inet_server_port() as port');
      const ms = performance.now() - t0;
      await restart;
      const again = (await reroutes('write')) - before;
      console.log(`[route-again] write to a stopped primary: ran in ${ms.toFixed(0)} ms (primary back after 1 s), routed again ${again}×`);
      expect(r.rows[0]!.port).toBe(cluster.primary.port);
      expect(again).toBeGreaterThanOrEqual(1);
      expect(ms).toBeLessThan(8000);
    } finally {
      await c.end();
    }
  });
});

describe('a hung node is a failed node (issue 18, item 2)', () => {
  it('a request waiting on a backend of a node that stops answering (SIGSTOP) gets 08006 once probes evict it, not a hang', async () => {
    // Probes every 500 ms with a 500 ms timeout, 2 failures to evict: out of routing in about 1.5–2 s.
    const fast = await startMeridian(cluster, {
      kind: 'physical',
      pool: 'mode: transaction, size: 5, queue_timeout: 5s',
      health: 'interval: 500ms, timeout: 500ms, rise: 1, fall: 2',
      extraYaml: 'routing: { reads_on_masters: fallback, write_wait: 1s }',
    });
    const c = new pg.Client(fast.dsn());
    c.on('error', () => {});
    await c.connect();
    let pids: number[] = [];
    try {
      await cluster.primary.query('create table if not exists hung_node(id int); grant all on hung_node to public');
      await c.query('begin');
      await c.query('insert into hung_node values (2)'); // the transaction holds a backend on the primary
      pids = signalNode(cluster.primary, 'SIGSTOP');
      const t0 = performance.now();
      const outcome = await Promise.race([
        c.query('select 1').then(
          () => 'answered',
          (e: { code?: string }) => e.code ?? 'error',
        ),
        new Promise<string>((r) => setTimeout(() => r('hang'), 8000)),
      ]);
      const ms = performance.now() - t0;
      console.log(`[hung-node] a request on the stopped primary's backend: ${outcome} after ${ms.toFixed(0)} ms`);
      expect(outcome).toBe('08006');
      expect(ms).toBeLessThan(6000);
    } finally {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          /* gone */
        }
      }
      await c.end().catch(() => {});
      await fast.stop();
    }
  }, 60_000);
});
