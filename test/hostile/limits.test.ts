// Issue 14, clients that hold resources: connections that never log in (idle or slowloris), a
// flood of CancelRequests, a late cancel, clients idle in a transaction, and max_clients with the
// admin console's reserved slots and a per-user limit. Real PostgreSQL (shared single node),
// Meridian in-process. Each test prints its figure.

import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load-config.js';
import { createLogger } from '../../src/logger.js';
import { Meridian } from '../../src/server.js';
import { ADMIN_PASSWORD, meridianYaml, type StartOptions } from '../helpers/meridian.js';
import { sharedCluster, sleep, TEST_USERS, waitFor, type Cluster } from '../support/cluster.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await sharedCluster('single');
});

interface Running {
  m: Meridian;
  port: number;
  stop(): Promise<void>;
}

/** startMeridian with a last edit of the YAML (per-user settings the shared helper has no option for). */
async function start(opts: StartOptions, edit: (yaml: string) => string = (y) => y): Promise<Running> {
  const cfg = parseConfigText(edit(meridianYaml(cluster, opts)), 'limits.yaml');
  const m = new Meridian(cfg, { logger: createLogger(cfg.log.level) });
  const { port } = await m.start();
  await m.health.waitReady(60_000);
  return { m, port, stop: () => m.stop(2000) };
}

function client(port: number, user: 'app' | 'md5user' | 'admin' = 'app'): pg.Client {
  const password = user === 'admin' ? ADMIN_PASSWORD : TEST_USERS[user].password;
  const c = new pg.Client({ host: '127.0.0.1', port, user, password, database: user === 'admin' ? 'meridian' : 'app' });
  c.on('error', () => {});
  return c;
}

/** A TCP relay to a node that counts every connection opened through it (pool, probes, cancels). */
async function countingRelay(host: string, port: number): Promise<{ port: number; opened: () => number; close: () => Promise<void> }> {
  let opened = 0;
  const socks = new Set<net.Socket>();
  const server = net.createServer((c) => {
    opened++;
    const u = net.connect(port, host);
    for (const s of [c, u]) {
      socks.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        socks.delete(s);
        c.destroy();
        u.destroy();
      });
    }
    c.pipe(u);
    u.pipe(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    opened: () => opened,
    close: () => {
      for (const s of socks) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A raw connection that records what it receives and when the server closed it. */
interface Raw {
  sock: net.Socket;
  data: Buffer[];
  closedAtMs: number | null;
  connected: Promise<void>;
}

function rawConnect(port: number): Raw {
  const sock = net.connect(port, '127.0.0.1');
  const r: Raw = { sock, data: [], closedAtMs: null, connected: new Promise((res) => sock.once('connect', () => res())) };
  sock.on('data', (d) => r.data.push(d));
  sock.on('error', () => {});
  sock.on('close', () => (r.closedAtMs = Date.now()));
  return r;
}

const received = (r: Raw) => Buffer.concat(r.data).toString('latin1');

function startupPacket(user: string, database: string): Buffer {
  const body = Buffer.from(`user\0${user}\0database\0${database}\0\0`);
  const b = Buffer.alloc(8 + body.length);
  b.writeInt32BE(b.length, 0);
  b.writeInt32BE(196608, 4);
  body.copy(b, 8);
  return b;
}

function cancelPacket(pid: number, secret: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32BE(16, 0);
  b.writeInt32BE(80877102, 4);
  b.writeInt32BE(pid, 8);
  b.writeInt32BE(secret, 12);
  return b;
}

/** Sends one CancelRequest and waits for Meridian to close the connection. */
function sendCancel(port: number, pid: number, secret: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(cancelPacket(pid, secret)));
    s.on('error', () => {});
    s.on('close', () => resolve());
    s.setTimeout(5000, () => s.destroy());
  });
}

const pidOf = (c: pg.Client) => (c as unknown as { processID: number }).processID;
const secretOf = (c: pg.Client) => (c as unknown as { secretKey: number }).secretKey;

async function metric(m: Meridian, name: string, label: string): Promise<number> {
  const text = await m.metrics.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${label}}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('connections that do not log in', () => {
  it('400 idle pre-auth connections under max_pending_logins: a real client still logs in and queries fast', async () => {
    const mer = await start({}, (y) => `${y}limits: { max_pending_logins: 1000 }\n`);
    const idle: Raw[] = [];
    try {
      for (let i = 0; i < 400; i++) idle.push(rawConnect(mer.port));
      await Promise.all(idle.map((r) => r.connected));
      await waitFor(() => mer.m.janitor.limits.pending === 400, { what: '400 pending logins', timeoutMs: 10_000 });
      const t0 = performance.now();
      const c = client(mer.port);
      await c.connect();
      const loginMs = performance.now() - t0;
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const q0 = performance.now();
        await c.query('select 1');
        times.push(performance.now() - q0);
      }
      await c.end();
      times.sort((a, b) => a - b);
      const p99 = times[Math.floor(times.length * 0.99)]!;
      console.log(
        `[limits] 400 idle pre-auth connections held: login ${loginMs.toFixed(1)} ms, select 1 p50 ${times[25]!.toFixed(2)} ms p99 ${p99.toFixed(2)} ms`,
      );
      expect(loginMs).toBeLessThan(3000);
      expect(idle.every((r) => r.closedAtMs === null)).toBe(true); // held, not refused (auth_timeout 10 s not reached)
    } finally {
      for (const r of idle) r.sock.destroy();
      await mer.stop();
    }
  });

  it('past max_pending_logins new connections get 53300 at once; a client logs in again once they are gone', async () => {
    const mer = await start({}, (y) => `${y}limits: { max_pending_logins: 100 }\n`);
    const idle: Raw[] = [];
    try {
      const t0 = Date.now();
      for (let i = 0; i < 400; i++) idle.push(rawConnect(mer.port));
      await Promise.all(idle.map((r) => r.connected));
      await waitFor(() => idle.filter((r) => r.closedAtMs !== null).length >= 300, { what: '300 refusals', timeoutMs: 5000 });
      const refused = idle.filter((r) => r.closedAtMs !== null);
      const slowest = Math.max(...refused.map((r) => r.closedAtMs! - t0));
      console.log(
        `[limits] 400 pre-auth connections, max_pending_logins 100: ${refused.length} refused with 53300 (all within ${slowest} ms), ${400 - refused.length} held`,
      );
      expect(refused.length).toBe(300);
      expect(refused.every((r) => received(r).includes('53300') && received(r).includes('max_pending_logins'))).toBe(true);
      const c = client(mer.port);
      await expect(c.connect()).rejects.toMatchObject({ code: '53300' });
      for (const r of idle) r.sock.destroy();
      await waitFor(() => mer.m.janitor.limits.pending === 0, { what: 'pending logins gone', timeoutMs: 5000 });
      const c2 = client(mer.port);
      await c2.connect();
      expect((await c2.query('select 1 as x')).rows[0].x).toBe(1);
      await c2.end();
    } finally {
      for (const r of idle) r.sock.destroy();
      await mer.stop();
    }
  });

  it('slowloris startup packets (1 byte per second) are closed at auth_timeout with 08P01', async () => {
    const mer = await start({}, (y) => `${y}limits: { auth_timeout: 1s }\n`);
    const packet = startupPacket('app', 'app');
    const slow: Raw[] = [];
    const timers: NodeJS.Timeout[] = [];
    try {
      const t0 = Date.now();
      for (let i = 0; i < 20; i++) {
        const r = rawConnect(mer.port);
        slow.push(r);
        let sent = 0;
        const tick = () => {
          if (r.closedAtMs === null && sent < packet.length) r.sock.write(packet.subarray(sent, ++sent));
        };
        tick();
        timers.push(setInterval(tick, 1000));
      }
      // A real client meanwhile logs in normally.
      const c = client(mer.port);
      await c.connect();
      await c.query('select 1');
      await waitFor(() => slow.every((r) => r.closedAtMs !== null), { what: 'slowloris connections closed', timeoutMs: 5000 });
      const after = slow.map((r) => r.closedAtMs! - t0).sort((a, b) => a - b);
      console.log(`[limits] 20 slowloris startups, auth_timeout 1s: closed after ${after[0]}–${after[after.length - 1]} ms`);
      expect(after[0]).toBeGreaterThanOrEqual(950);
      expect(after[after.length - 1]).toBeLessThan(2500);
      expect(slow.every((r) => received(r).includes('08P01') && received(r).includes('login timeout'))).toBe(true);
      expect(await metric(mer.m, 'meridian_client_limit_closes_total', 'reason="login-timeout"')).toBe(20);
      await c.query('select 1'); // the logged-in client is not touched
      await c.end();
    } finally {
      for (const t of timers) clearInterval(t);
      for (const r of slow) r.sock.destroy();
      await mer.stop();
    }
  });
});

describe('a TLS handshake that never finishes', () => {
  it('is cut at auth_timeout too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-limits-tls-'));
    const cert = join(dir, 'server.crt');
    const key = join(dir, 'server.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], {
      stdio: 'ignore',
    });
    const mer = await start({ extraYaml: `tls: { cert: ${cert}, key: ${key}, mode: require }` }, (y) => `${y}limits: { auth_timeout: 1s }\n`);
    const r = rawConnect(mer.port);
    try {
      const t0 = Date.now();
      await r.connected;
      const ssl = Buffer.alloc(8);
      ssl.writeInt32BE(8, 0);
      ssl.writeInt32BE(80877103, 4);
      r.sock.write(ssl);
      await waitFor(() => r.data.length > 0, { what: "the server's S", timeoutMs: 5000 });
      r.sock.write(Buffer.from([0x16, 0x03, 0x01])); // the first bytes of a ClientHello, then nothing
      await waitFor(() => r.closedAtMs !== null, { what: 'stalled TLS handshake closed', timeoutMs: 6000 });
      console.log(`[limits] TLS handshake stalled after the SSLRequest, auth_timeout 1s: closed after ${r.closedAtMs! - t0} ms`);
      expect(r.closedAtMs! - t0).toBeLessThan(2000); // not after Session.close's 2 s grace for a socket that will not end
    } finally {
      r.sock.destroy();
      await mer.stop();
    }
  });
});

describe('cancel requests', () => {
  let relay: Awaited<ReturnType<typeof countingRelay>>;
  let mer: Running;

  beforeAll(async () => {
    const n = cluster.nodes[0]!;
    relay = await countingRelay(n.host, n.port);
    mer = await start({ nodes: [{ name: n.name, host: '127.0.0.1', port: relay.port }], pool: 'mode: transaction, size: 1, queue_timeout: 10s' });
  });

  afterAll(async () => {
    await mer?.stop();
    await relay?.close();
  });

  it('2 000 random CancelRequests while a client runs queries: nothing is cancelled, no node connection is opened', async () => {
    const c = client(mer.port);
    await c.connect();
    await c.query('select 1'); // its backend exists before counting
    const before = relay.opened();
    let stop = false;
    let queries = 0;
    const errors: unknown[] = [];
    const worker = (async () => {
      while (!stop) {
        try {
          await c.query('select pg_sleep(0.002)');
          queries++;
        } catch (e) {
          errors.push(e);
        }
      }
    })();
    const t0 = performance.now();
    let sent = 0;
    const lane = async () => {
      while (sent < 2000) {
        sent++;
        // Half with a pid Meridian really uses (small session ids), all with a random secret.
        const pid = sent % 2 === 0 ? 1 + (sent % 8) : Math.floor(Math.random() * 0x7fffffff);
        await sendCancel(mer.port, pid, Math.floor(Math.random() * 0x7fffffff));
      }
    };
    await Promise.all(Array.from({ length: 25 }, lane));
    const ms = performance.now() - t0;
    const p0 = performance.now();
    stop = true;
    await worker;
    await c.query('select 1');
    const pingMs = performance.now() - p0;
    await c.end();
    const opened = relay.opened() - before;
    console.log(
      `[limits] 2000 random CancelRequests in ${ms.toFixed(0)} ms (${(2000 / (ms / 1000)).toFixed(0)}/s); ${queries} queries ran meanwhile, ${errors.length} failed; node connections opened for cancels: ${opened}; next query ${pingMs.toFixed(1)} ms`,
    );
    expect(errors).toEqual([]);
    expect(queries).toBeGreaterThan(0);
    expect(opened).toBe(0);
    expect(await metric(mer.m, 'meridian_cancel_requests_total', 'result="unknown"')).toBeGreaterThanOrEqual(2000);
  });

  it('50 cancels for one running query open at most 2 node connections (one in flight per session)', async () => {
    const c = client(mer.port);
    await c.connect();
    await c.query('select 1');
    const before = relay.opened();
    const running = c.query('select pg_sleep(3) /* fifty cancels */').then(
      () => null,
      (e: { code?: string }) => e.code ?? 'error',
    );
    // Cancel once the query runs on the node (a cancel before it reaches a server is answered by Meridian).
    await waitFor(
      async () =>
        (await cluster.nodes[0]!.query("select 1 from pg_stat_activity where state = 'active' and query like '%fifty cancels%' and pid <> pg_backend_pid()"))
          .length > 0,
      { timeoutMs: 10_000, what: 'the query running on the node' },
    );
    await Promise.all(Array.from({ length: 50 }, () => sendCancel(mer.port, pidOf(c), secretOf(c))));
    const outcome = await running;
    const opened = relay.opened() - before;
    await c.end();
    console.log(`[limits] 50 cancels for one query: query ended with ${outcome}; node connections opened for cancels: ${opened}`);
    expect(outcome).toBe('57014');
    expect(opened).toBeGreaterThanOrEqual(1);
    expect(opened).toBeLessThanOrEqual(2);
  });

  it('a cancel that reaches the node after its request ended does not cancel the next session on that backend', async () => {
    const a = client(mer.port);
    const b = client(mer.port);
    await a.connect();
    await b.connect();
    const realOpen = mer.m.cancels.open;
    // The connection to the node takes 600 ms to come up (a far node, a slow SYN-ACK).
    mer.m.cancels.open = (host, port) => {
      const s = new net.Socket();
      setTimeout(() => s.connect(port, host), 600);
      return s;
    };
    const staleBefore = await metric(mer.m, 'meridian_cancel_requests_total', 'result="stale"');
    try {
      const first = a.query('select pg_sleep(0.3)');
      await sleep(50);
      await sendCancel(mer.port, pidOf(a), secretOf(a));
      await first; // ended before the cancel could be sent
      const t0 = performance.now();
      // Pool size 1: b gets the backend a just released, while a's cancel is still on its way.
      const r = await b.query('select pg_sleep(1) as slept').then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? 'error',
      );
      console.log(`[limits] late cancel (node connect 600 ms): next session's query on the same backend: ${r} after ${(performance.now() - t0).toFixed(0)} ms`);
      expect(r).toBe('ok');
      expect(await metric(mer.m, 'meridian_cancel_requests_total', 'result="stale"')).toBe(staleBefore + 1);
    } finally {
      mer.m.cancels.open = realOpen;
      await a.end();
      await b.end();
    }
  });
});

describe('clients that hold resources', () => {
  it('two clients idle in a transaction on a pool of 2 are closed with 25P03; a third is then served', async () => {
    const mer = await start(
      { pool: 'mode: transaction, size: 2, queue_timeout: 8s' },
      (y) => `${y}limits: { idle_transaction_timeout: 1s, client_idle_timeout: 1500ms }\n`,
    );
    const marker = `idle-tx-${process.pid}-${Date.now()}`;
    const errs = new Map<string, string>();
    const closedAt = new Map<string, number>();
    const mk = async (name: string) => {
      const c = new pg.Client({ host: '127.0.0.1', port: mer.port, user: 'app', password: TEST_USERS.app.password, database: 'app' });
      c.on('error', (e: Error & { code?: string }) => {
        if (!errs.has(name)) errs.set(name, e.code ?? e.message); // the FATAL first, then "terminated"
        if (!closedAt.has(name)) closedAt.set(name, performance.now());
      });
      await c.connect();
      return c;
    };
    try {
      const c1 = await mk('c1');
      const c2 = await mk('c2');
      const c4 = await mk('c4');
      const c5 = await mk('c5');
      const c5IdleFrom = performance.now();
      for (const c of [c1, c2]) {
        await c.query('begin');
        await c.query(`select '${marker}'`); // takes a backend and keeps it: in a transaction
      }
      await c4.query('begin'); // answered by Meridian (deferred BEGIN): in a transaction without a backend
      const t0 = performance.now();
      const c3 = await mk('c3');
      const r = await c3.query('select 42 as x');
      const servedMs = performance.now() - t0;
      expect(r.rows[0].x).toBe(42);
      await c3.end();
      await waitFor(() => errs.size >= 4, { what: 'idle clients closed', timeoutMs: 5000 });
      const idleMs = closedAt.get('c5')! - c5IdleFrom;
      const txMs = closedAt.get('c1')! - t0;
      console.log(
        `[limits] pool of 2 held by 2 idle transactions, idle_transaction_timeout 1s: idle ones closed ${txMs.toFixed(0)} ms after the third client came, which was served after ${servedMs.toFixed(0)} ms; errors ${JSON.stringify(Object.fromEntries(errs))}; idle session (client_idle_timeout 1.5s) closed after ${idleMs.toFixed(0)} ms idle`,
      );
      expect(idleMs).toBeGreaterThanOrEqual(1400);
      expect(idleMs).toBeLessThan(3000);
      expect(errs.get('c1')).toBe('25P03');
      expect(errs.get('c2')).toBe('25P03');
      expect(errs.get('c4')).toBe('25P03');
      expect(errs.get('c5')).toBe('57P05');
      expect(servedMs).toBeGreaterThan(900);
      expect(servedMs).toBeLessThan(3000);
      // The backends left in a transaction were discarded, not pooled.
      await waitFor(async () => (await cluster.nodes[0]!.query(`select 1 from pg_stat_activity where query = $1`, [`select '${marker}'`])).length === 0, {
        what: 'idle-in-transaction backends gone',
        timeoutMs: 5000,
      });
      await c5.end().catch(() => {});
    } finally {
      await mer.stop();
    }
  });

  it('max_clients with reserved admin slots and users[].max_connections', async () => {
    const mer = await start(
      {},
      (y) =>
        `${y.replace(/pool: \{ ([^}]*) \}/, 'pool: { $1, max_clients: 5 }').replace(/auth: md5 \}/, 'auth: md5, max_connections: 1 }')}limits: { admin_reserved_connections: 1 }\n`,
    );
    const open: pg.Client[] = [];
    try {
      const m1 = client(mer.port, 'md5user');
      await m1.connect();
      open.push(m1);
      const m2 = client(mer.port, 'md5user');
      const userLimit = await m2.connect().then(
        () => 'ok',
        (e: { code?: string; message: string }) => `${e.code} ${e.message}`,
      );
      let apps = 0;
      let refusal = '';
      for (let i = 0; i < 6 && refusal === ''; i++) {
        const c = client(mer.port);
        await c.connect().then(
          () => {
            open.push(c);
            apps++;
          },
          (e: { code?: string; message: string }) => (refusal = `${e.code} ${e.message}`),
        );
      }
      const admin = client(mer.port, 'admin');
      await admin.connect();
      open.push(admin);
      const sessions = (await admin.query('SHOW SESSIONS')).rows.length;
      const admin2 = client(mer.port, 'admin');
      const full = await admin2.connect().then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? 'error',
      );
      console.log(
        `[limits] max_clients 5, 1 reserved: md5user's 2nd session: ${userLimit}; app sessions admitted ${apps}, then: ${refusal}; admin console in (SHOW SESSIONS: ${sessions} rows); one more admin: ${full}`,
      );
      expect(userLimit).toMatch(/^53300 too many connections for role "md5user"/);
      expect(apps).toBe(3);
      expect(refusal).toMatch(/^53300 .*reserved for the admin console/);
      expect(sessions).toBe(5);
      expect(full).toBe('53300');
      await open.pop()!.end();
      await waitFor(() => mer.m.janitor.limits.loggedIn === 4, { what: 'admin session counted out', timeoutMs: 5000 });
    } finally {
      for (const c of open) await c.end().catch(() => {});
      await mer.stop();
    }
  });
});
