// Issue 5 acceptance: pins, on primary + 2 standbys and on the 3-node pglogical cluster. A temp
// table pins the session to its backend until dropped, a session advisory lock until unlocked
// (counted), LISTEN until UNLISTEN * (NOTIFYs keep flowing meanwhile), a WITH HOLD cursor until
// closed, and DISCARD ALL releases everything; pinned sessions are visible in m.sessions and in
// the meridian_pinned_sessions gauge. Then (session-disconnects.test.ts) what a client leaves behind.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sharedCluster, uniqueName, waitFor, type Cluster, type PhysicalCluster } from '../support/cluster.js';
import type { RunningMeridian } from '../helpers/meridian.js';
import type { Session } from '../../src/frontend/session.js';
import { allowDropOnPglogical, nodeNameOfPort, startSessionMeridian } from '../drivers/workload.js';

type Kind = 'physical' | 'pglogical';

interface Who {
  port: number;
  pid: number;
}

async function who(c: pg.Client, sql = 'select inet_server_port() as port, pg_backend_pid() as pid'): Promise<Who> {
  return (await c.query<Who>(sql)).rows[0]!;
}

function sessionOf(mer: RunningMeridian, app: string): Session {
  const s = [...mer.m.sessions.values()].find((x) => x.ident.applicationName === app);
  if (s === undefined) throw new Error(`no Meridian session with application_name ${app}`);
  return s;
}

async function pinnedGauge(mer: RunningMeridian): Promise<Record<string, number>> {
  const text = await mer.m.metrics.registry.metrics();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^meridian_pinned_sessions\{reason="([^"]+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

async function connect(mer: RunningMeridian, app: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: mer.dsn(), application_name: app });
  await c.connect();
  return c;
}

describe.each<Kind>(['physical', 'pglogical'])('pins on %s', (kind) => {
  let cluster: Cluster;
  let mer: RunningMeridian;
  let primaryPort: number | null;

  beforeAll(async () => {
    cluster = await sharedCluster(kind);
    await allowDropOnPglogical(cluster);
    primaryPort = kind === 'physical' ? (cluster as PhysicalCluster).primary.port : null;
    mer = await startSessionMeridian(cluster, 'mode: transaction, size: 4, queue_timeout: 20s');
  });

  afterAll(async () => {
    await mer?.stop();
  });

  /** Statements of every kind run on `pinned` while the session is pinned. */
  async function expectStaysOn(c: pg.Client, pinned: Who, what: string): Promise<void> {
    for (let i = 0; i < 4; i++) {
      expect(await who(c), `${what}: read ${i}`).toEqual(pinned);
      await c.query('begin read only');
      expect(await who(c), `${what}: read-only tx ${i}`).toEqual(pinned);
      await c.query('commit');
      await c.query('begin');
      expect(await who(c), `${what}: write tx ${i}`).toEqual(pinned);
      await c.query('commit');
      expect(await who(c, 'select inet_server_port() as port, pg_backend_pid() as pid, txid_current()'), `${what}: write ${i}`).toEqual(
        expect.objectContaining(pinned),
      );
    }
  }

  /** After the pin: reads are routed again (physical: to standbys). */
  async function expectRoutedAgain(c: pg.Client, what: string): Promise<void> {
    // Reads avoid the primary only while a standby is eligible: under load, wait for low lag first.
    if (primaryPort !== null) {
      await waitFor(() => mer.m.health.snapshot.nodes.some((n) => n.role === 'replica' && n.isUp && n.lagMs !== null && n.lagMs < 300), {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: 'a standby lagging less than 300 ms',
      });
    }
    const ports = new Set<number>();
    for (let i = 0; i < 5; i++) ports.add((await who(c)).port);
    if (primaryPort !== null) expect(ports.has(primaryPort), `${what}: reads on ${[...ports].map((p) => nodeNameOfPort(cluster, p))}`).toBe(false);
  }

  it('a temp table pins the session to its backend until dropped; the pin is visible', async () => {
    const app = uniqueName('pin_temp');
    const c = await connect(mer, app);
    try {
      await who(c);
      expect(sessionOf(mer, app).state.isPinned).toBe(false);
      await c.query('create temp table tpin(a int)');
      const s = sessionOf(mer, app);
      expect([s.state.isPinned, s.state.pinReasons()]).toEqual([true, ['temp-table']]);
      expect((await pinnedGauge(mer))['temp-table']).toBeGreaterThanOrEqual(1);
      const pinned = await who(c);
      if (primaryPort !== null) expect(nodeNameOfPort(cluster, pinned.port)).toBe('primary');
      await c.query('insert into tpin select generate_series(1, 5)');
      await expectStaysOn(c, pinned, 'temp table');
      expect((await c.query('select count(*)::int as n from tpin')).rows[0].n).toBe(5);
      // A second temp table, dropped first: still pinned by the other.
      await c.query('create temp table tpin2(a int)');
      await c.query('drop table tpin2');
      expect(s.state.isPinned).toBe(true);
      await c.query('drop table tpin');
      expect(s.state.isPinned).toBe(false);
      await expectRoutedAgain(c, 'after drop');
    } finally {
      await c.end();
    }
  }, 60_000);

  it('a session advisory lock pins until unlocked (counted), pg_advisory_unlock_all releases all', async () => {
    const app = uniqueName('pin_lock');
    const c = await connect(mer, app);
    const k1 = 500_000_000 + Math.floor(Math.random() * 100_000_000);
    const k2 = k1 + 1;
    const held = async (pinned: Who, key: number) =>
      (
        await cluster.nodes
          .find((n) => n.port === pinned.port)!
          .query<{ n: number }>(`select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = ${key} and pid = ${pinned.pid}`)
      )[0]!.n;
    try {
      await c.query(`select pg_advisory_lock(${k1})`);
      const s = sessionOf(mer, app);
      expect(s.state.pinReasons()).toEqual(['advisory-lock']);
      const pinned = await who(c);
      if (primaryPort !== null) expect(pinned.port).toBe(primaryPort);
      expect(await held(pinned, k1)).toBe(1);
      await c.query(`select pg_advisory_lock(${k1})`); // held twice now
      await expectStaysOn(c, pinned, 'advisory lock');
      expect((await c.query(`select pg_advisory_unlock(${k1}) as ok`)).rows[0].ok).toBe(true);
      expect(s.state.isPinned, 'one of two holds released').toBe(true);
      expect(await who(c)).toEqual(pinned);
      expect(await held(pinned, k1)).toBe(1);
      expect((await c.query(`select pg_advisory_unlock(${k1}) as ok`)).rows[0].ok).toBe(true);
      expect(s.state.isPinned).toBe(false);
      expect(await held(pinned, k1)).toBe(0);
      await expectRoutedAgain(c, 'after unlock');
      // Transaction-level locks never pin.
      await c.query('begin');
      await c.query(`select pg_advisory_xact_lock(${k2})`);
      await c.query('commit');
      expect(s.state.isPinned).toBe(false);
      // Two keys, released at once.
      await c.query(`select pg_advisory_lock(${k1}), pg_advisory_lock(${k2})`);
      const again = await who(c);
      expect(s.state.isPinned).toBe(true);
      await c.query('select pg_advisory_unlock_all()');
      expect(s.state.isPinned).toBe(false);
      expect((await held(again, k1)) + (await held(again, k2))).toBe(0);
    } finally {
      await c.end();
    }
  }, 60_000);

  it('LISTEN pins until UNLISTEN *, NOTIFYs keep flowing meanwhile, none after', async () => {
    const app = uniqueName('pin_listen');
    const listener = await connect(mer, app);
    const sender = await connect(mer, uniqueName('sender'));
    const channel = uniqueName('ch');
    const got: string[] = [];
    listener.on('notification', (n) => {
      if (n.channel === channel) got.push(n.payload ?? '');
    });
    try {
      await listener.query(`listen ${channel}`);
      const s = sessionOf(mer, app);
      expect(s.state.pinReasons()).toEqual(['listen']);
      const pinned = await who(listener);
      // NOTIFY is node-local: on active-active the sender must reach the listener's node.
      const hint = `/* meridian: node=${nodeNameOfPort(cluster, pinned.port)} */ `;
      for (let i = 0; i < 20; i++) {
        await sender.query(`${kind === 'pglogical' ? hint : ''}notify ${channel}, 'n${i}'`);
        if (i % 5 === 0) await expectStaysOn(listener, pinned, 'listen');
        else expect(await who(listener)).toEqual(pinned);
      }
      await waitForCount(() => got.length, 20, 'notifications');
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
      // UNLISTEN of another channel changes nothing; UNLISTEN * releases.
      await listener.query('unlisten some_other_channel');
      expect(s.state.isPinned).toBe(true);
      await listener.query('unlisten *');
      expect(s.state.isPinned).toBe(false);
      await sender.query(`${kind === 'pglogical' ? hint : ''}notify ${channel}, 'late'`);
      await expectRoutedAgain(listener, 'after unlisten');
      await new Promise((r) => setTimeout(r, 300));
      await who(listener);
      expect(got).not.toContain('late');
    } finally {
      await listener.end();
      await sender.end();
    }
  }, 60_000);

  it('a WITH HOLD cursor pins until closed; DISCARD ALL releases every pin', async () => {
    const app = uniqueName('pin_cursor');
    const c = await connect(mer, app);
    try {
      await c.query('declare cur cursor with hold for select g from generate_series(1, 12) g');
      const s = sessionOf(mer, app);
      expect(s.state.pinReasons()).toEqual(['cursor']);
      const pinned = await who(c);
      const fetch3 = async () => (await c.query('fetch 3 from cur')).rows.map((r) => r.g as number);
      expect(await fetch3()).toEqual([1, 2, 3]);
      await expectStaysOn(c, pinned, 'cursor');
      expect(await fetch3()).toEqual([4, 5, 6]);
      await c.query('begin');
      expect(await fetch3()).toEqual([7, 8, 9]);
      await c.query('commit');
      await c.query('close cur');
      expect(s.state.isPinned).toBe(false);
      await expectRoutedAgain(c, 'after close');

      // Everything at once, released by DISCARD ALL.
      const key = 600_000_000 + Math.floor(Math.random() * 100_000_000);
      await c.query(`create temp table tdis(a int); select pg_advisory_lock(${key}); listen ${uniqueName('chd')}; declare cur2 cursor with hold for select 1`);
      expect(s.state.pinReasons().sort()).toEqual(['advisory-lock', 'cursor', 'listen', 'temp-table']);
      const all = await who(c);
      const gauge = await pinnedGauge(mer);
      for (const r of ['advisory-lock', 'cursor', 'listen', 'temp-table']) expect(gauge[r], r).toBeGreaterThanOrEqual(1);
      await c.query('discard all');
      expect(s.state.isPinned).toBe(false);
      expect([...mer.m.sessions.values()].some((x) => x === s && x.state.isPinned)).toBe(false);
      await expectRoutedAgain(c, 'after discard all');
      const [r] = await cluster.nodes
        .find((n) => n.port === all.port)!
        .query<{ n: number }>(`select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = ${key} and pid = ${all.pid}`);
      expect(r!.n).toBe(0);
    } finally {
      await c.end();
    }
  }, 60_000);
});

async function waitForCount(get: () => number, n: number, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (get() < n) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} ${what}, got ${get()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
