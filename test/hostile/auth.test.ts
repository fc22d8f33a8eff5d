// Authentication under attack (issue 14), both directions. Clients: a storm of wrong-password
// SCRAM logins must not stall a working client; an unknown user's handshake must look like a
// known one's; auth.query and stored SCRAM secrets work against a real node's pg_authid. Nodes:
// Meridian refuses to send a cleartext password without TLS, an absurd SCRAM iteration count,
// and an AuthenticationOk that skips the server's SCRAM signature.

import { spawn } from 'node:child_process';
import net from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectServer } from '../../src/backend/server-connect.js';
import { sharedCluster, TEST_USERS, uniqueName, type Cluster } from '../support/cluster.js';
import { meridianYaml, startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { parseConfigText } from '../../src/config/load-config.js';
import { Meridian } from '../../src/server.js';
import { createLogger } from '../../src/logger.js';
import { errorOf } from '../helpers/errors.js';

interface Frame {
  code: string;
  body: Buffer;
}

/** A raw socket that reads whole backend frames (no driver: attackers skip the key derivation). */
class Wire {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  private readonly frames: Frame[] = [];
  private wake: (() => void) | null = null;
  private isClosed = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 5 && this.buf.length >= 1 + this.buf.readInt32BE(1)) {
        const len = this.buf.readInt32BE(1);
        this.frames.push({ code: String.fromCharCode(this.buf[0]!), body: this.buf.subarray(5, 1 + len) });
        this.buf = this.buf.subarray(1 + len);
      }
      this.wake?.();
    });
    socket.on('close', () => {
      this.isClosed = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  static async open(port: number): Promise<Wire> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new Wire(socket);
  }

  async next(timeoutMs = 10_000): Promise<Frame | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.isClosed || Date.now() > deadline) return null;
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
      this.wake = null;
    }
    return this.frames.shift()!;
  }
}

interface Handshake {
  mechanisms: string[];
  salt: string;
  iterations: number;
  error: { code: string; message: string } | null;
  elapsedMs: number;
}

const errorFields = (body: Buffer): { code: string; message: string } => {
  const f = new Map<string, string>();
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const end = body.indexOf(0, i + 1);
    f.set(String.fromCharCode(body[i]!), body.toString('utf8', i + 1, end));
    i = end + 1;
  }
  return { code: f.get('C') ?? '', message: f.get('M') ?? '' };
};

/** A SCRAM login with a junk proof: the server does all its work, the attacker none. */
async function badScramLogin(port: number, user: string): Promise<Handshake> {
  const t0 = performance.now();
  const w = await Wire.open(port);
  try {
    w.socket.write(serialize.startup({ user, database: 'app' }));
    const sasl = await w.next();
    if (sasl?.code !== 'R' || sasl.body.readInt32BE(0) !== 10) throw new Error(`expected AuthenticationSASL, got ${sasl?.code}`);
    const mechanisms = sasl.body
      .toString('utf8', 4)
      .split('\0')
      .filter((m) => m !== '');
    const clientNonce = 'attackerNonce0123456789';
    w.socket.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', `n,,n=*,r=${clientNonce}`));
    const cont = await w.next();
    if (cont?.code !== 'R' || cont.body.readInt32BE(0) !== 11) throw new Error(`expected SASLContinue, got ${cont?.code}`);
    const attrs = new Map(
      cont.body
        .toString('utf8', 4)
        .split(',')
        .map((p) => [p[0]!, p.slice(2)] as const),
    );
    w.socket.write(serialize.sendSCRAMClientFinalMessage(`c=biws,r=${attrs.get('r')},p=${Buffer.alloc(32, 7).toString('base64')}`));
    const err = await w.next();
    return {
      mechanisms,
      salt: attrs.get('s') ?? '',
      iterations: Number(attrs.get('i')),
      error: err?.code === 'E' ? errorFields(err.body) : null,
      elapsedMs: performance.now() - t0,
    };
  } finally {
    w.socket.destroy();
  }
}

const STORM_WAVES = 10;
/**
 * The attacker, run in its own process (argv: port, waves, connections per wave). Each wave opens
 * its connections, lets Meridian accept them, then on all of them at once pipelines
 * StartupMessage + SASLInitialResponse for a fresh unknown user; it answers each server-first
 * with a junk proof and expects ErrorResponse 28P01. It derives nothing: a login costs it nothing.
 */
const ATTACKER = `
const net = require('net');
const [port, waves, perWave] = process.argv.slice(1).map(Number);
let refused = 0, total = 0;
const frame = (code, body) => { const b = Buffer.alloc(5 + body.length); b.write(code, 0); b.writeInt32BE(4 + body.length, 1); body.copy(b, 5); return b; };
function startup(user) {
  const params = Buffer.from('user\\0' + user + '\\0database\\0app\\0\\0');
  const b = Buffer.alloc(8 + params.length); b.writeInt32BE(8 + params.length, 0); b.writeInt32BE(196608, 4); params.copy(b, 8); return b;
}
function initial() {
  const data = Buffer.from('n,,n=*,r=attackerNonce0123456789');
  const len = Buffer.alloc(4); len.writeInt32BE(data.length, 0);
  return frame('p', Buffer.concat([Buffer.from('SCRAM-SHA-256\\0'), len, data]));
}
const final = (nonce) => frame('p', Buffer.from('c=biws,r=' + nonce + ',p=' + Buffer.alloc(32, 7).toString('base64')));
function open(name) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const closed = new Promise((r) => s.on('close', r));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 5 && buf.length >= 1 + buf.readInt32BE(1)) {
        const code = buf[0], body = buf.subarray(5, 1 + buf.readInt32BE(1));
        buf = buf.subarray(1 + buf.readInt32BE(1));
        if (code === 0x52 && body.readInt32BE(0) === 11) s.write(final(/r=([^,]+)/.exec(body.toString('latin1', 4))[1]));
        else if (code === 0x45) { if (body.includes('28P01')) refused++; s.destroy(); }
      }
    });
    s.on('error', () => {});
    s.on('connect', () => resolve({ go: () => s.write(Buffer.concat([startup(name), initial()])), closed }));
  });
}
(async () => {
  for (let w = 0; w < waves; w++) {
    const conns = await Promise.all(Array.from({ length: perWave }, (_, i) => open('nobody_' + process.pid + '_' + w + '_' + i)));
    await new Promise((r) => setTimeout(r, 100));
    for (const c of conns) c.go();
    await Promise.all(conns.map((c) => c.closed));
    total += perWave;
  }
  console.log('refused ' + refused + ' of ' + total);
  process.exit(0);
})();
`;

const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

describe('client authentication under attack', () => {
  let cluster: Cluster;
  let mer: RunningMeridian;

  beforeAll(async () => {
    cluster = await sharedCluster('single');
    mer = await startMeridian(cluster, { extraYaml: 'auth: { mock_key: "hostile-auth-test-key" }' });
  });
  afterAll(async () => {
    await mer?.stop();
  });

  it('waves of 200 wrong-password logins at once (from another process) leave a working client fast (p99 < 200 ms)', async () => {
    const client = new pg.Client(mer.dsn());
    client.on('error', () => {});
    await client.connect();
    const attacker = spawn(process.execPath, ['-e', ATTACKER, String(mer.port), String(STORM_WAVES), '200'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      attacker.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const exited = new Promise<void>((resolve) => attacker.once('exit', () => resolve()));
      let isStorming = true;
      void exited.then(() => {
        isStorming = false;
      });
      const t0 = performance.now();
      const latencies: number[] = [];
      while (isStorming && performance.now() - t0 < 60_000) {
        const q0 = performance.now();
        await client.query('select 1');
        latencies.push(performance.now() - q0);
      }
      await exited;
      const stormMs = performance.now() - t0;
      const p = p99(latencies);
      console.log(
        `auth storm: ${out.trim()} bad SCRAM logins (unknown users, waves of 200 at once) in ${stormMs.toFixed(0)} ms; ` +
          `working client ${latencies.length} queries, p99 ${p.toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`,
      );
      expect(out).toMatch(new RegExp(`refused ${STORM_WAVES * 200} of`));
      expect(latencies.length).toBeGreaterThan(10);
      expect(p).toBeLessThan(200);
    } finally {
      attacker.kill();
      await client.end();
    }
  });

  it("an unknown user's handshake looks like a known user's", async () => {
    const known1 = await badScramLogin(mer.port, 'app');
    const known2 = await badScramLogin(mer.port, 'app');
    const ghostA1 = await badScramLogin(mer.port, 'ghost_a');
    const ghostA2 = await badScramLogin(mer.port, 'ghost_a');
    const ghostB = await badScramLogin(mer.port, 'ghost_b');
    for (const h of [known1, ghostA1, ghostB]) {
      expect(h.mechanisms).toEqual(['SCRAM-SHA-256']);
      expect(h.iterations).toBe(4096);
      expect(Buffer.from(h.salt, 'base64').length).toBe(16);
      expect(h.error?.code).toBe('28P01');
    }
    expect(known2.salt).toBe(known1.salt);
    expect(ghostA2.salt).toBe(ghostA1.salt); // stable across attempts, as a real user's
    expect(ghostB.salt).not.toBe(ghostA1.salt); // and different between names
    expect(ghostA1.error?.message).toBe('password authentication failed for user "ghost_a"');
    expect(known1.error?.message).toBe('password authentication failed for user "app"');
    // a driver sees the same refusal for a wrong password and an unknown user
    const wrong = await errorOf(new pg.Client(`postgres://app:nope@127.0.0.1:${mer.port}/app`).connect());
    const ghost = await errorOf(new pg.Client(`postgres://ghost_a:nope@127.0.0.1:${mer.port}/app`).connect());
    expect(wrong?.code).toBe('28P01');
    expect(ghost?.code).toBe('28P01');
    expect(ghost?.message.replace('ghost_a', 'X')).toBe(wrong?.message.replace('app', 'X'));
    // same key after a restart: same fake salt (a real user's salt is stable too)
    const again = await startMeridian(cluster, { extraYaml: 'auth: { mock_key: "hostile-auth-test-key" }' });
    try {
      expect((await badScramLogin(again.port, 'ghost_a')).salt).toBe(ghostA1.salt);
      expect((await badScramLogin(again.port, 'app')).salt).toBe(known1.salt);
    } finally {
      await again.stop();
    }
    const metrics = await mer.m.metrics.registry.getSingleMetricAsString('meridian_auth_failures_total');
    expect(metrics).toMatch(/reason="unknown-user"\} [1-9]/);
    expect(metrics).toMatch(/reason="wrong-password"\} [1-9]/);
  });

  it('auth.failure_delay delays the refusal without blocking others', async () => {
    const slow = await startMeridian(cluster, { extraYaml: 'auth: { failure_delay: 300ms }' });
    try {
      const t0 = performance.now();
      const fails = Promise.all(Array.from({ length: 20 }, () => badScramLogin(slow.port, 'ghost_c')));
      const c = new pg.Client(slow.dsn());
      await c.connect();
      const okMs = performance.now() - t0;
      await c.end();
      const r = await fails;
      console.log(
        `failure_delay 300ms: refusals after ${Math.min(...r.map((x) => x.elapsedMs)).toFixed(0)} ms; a good login meanwhile took ${okMs.toFixed(0)} ms`,
      );
      expect(r.every((x) => x.error?.code === '28P01' && x.elapsedMs >= 290)).toBe(true);
      expect(okMs).toBeLessThan(1000);
    } finally {
      await slow.stop();
    }
  });
});

describe('users from the node: auth.query and stored SCRAM secrets', () => {
  let cluster: Cluster;
  const role = uniqueName('aq_user')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');

  beforeAll(async () => {
    cluster = await sharedCluster('single');
    await cluster.nodes[0]!.query(`CREATE ROLE ${role} LOGIN PASSWORD 'aq-secret'`);
  });
  afterAll(async () => {
    await cluster.nodes[0]!.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  });

  it('auth.query: a role only the node knows logs in (SCRAM pass-through to the node); wrong and unknown are refused alike', async () => {
    const mer = await startMeridian(cluster, {
      extraYaml: `auth: { query: "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = $1 AND rolcanlogin", user: postgres, database: app, cache_ttl: 2s }`,
    });
    try {
      const c = new pg.Client(`postgres://${role}:aq-secret@127.0.0.1:${mer.port}/app`);
      await c.connect();
      const r = await c.query('select current_user as u, inet_server_port() as port');
      await c.end();
      expect(r.rows[0].u).toBe(role);
      expect(r.rows[0].port).toBe(cluster.nodes[0]!.port);
      const wrong = await errorOf(new pg.Client(`postgres://${role}:nope@127.0.0.1:${mer.port}/app`).connect());
      const ghost = await errorOf(new pg.Client(`postgres://no_such_role:nope@127.0.0.1:${mer.port}/app`).connect());
      expect(wrong?.code).toBe('28P01');
      expect(ghost?.code).toBe('28P01');
      // a second login reuses the cached secret and the pooled backend
      const again = new pg.Client(`postgres://${role}:aq-secret@127.0.0.1:${mer.port}/app`);
      await again.connect();
      expect((await again.query('select current_user as u')).rows[0].u).toBe(role);
      await again.end();
      console.log(`auth.query: ${role} logged in through Meridian, served by node port ${r.rows[0].port}`);
    } finally {
      await mer.stop();
    }
  });

  it('a stored SCRAM secret copied from pg_authid logs in, and Meridian reaches the node by pass-through', async () => {
    const [row] = await cluster.nodes[0]!.query<{ rolpassword: string }>("select rolpassword from pg_authid where rolname = 'app'");
    expect(row!.rolpassword).toMatch(/^SCRAM-SHA-256\$/);
    // the helper's users plus one whose password is the stored secret (no backend_password)
    const yaml = meridianYaml(cluster).replace(
      'users:\n',
      `users:\n  - { name: appstored, password: "${row!.rolpassword}", auth: scram-sha-256, backend_user: app }\n`,
    );
    const cfg = parseConfigText(yaml, 'stored.yaml');
    expect(cfg.users.find((u) => u.name === 'appstored')?.backendPassword).toBeNull();
    const m = new Meridian(cfg, { logger: createLogger(cfg.log.level), configPath: null });
    const { port } = await m.start();
    try {
      await m.health.waitReady(60_000);
      const c = new pg.Client(`postgres://appstored:${TEST_USERS.app.password}@127.0.0.1:${port}/app`);
      await c.connect();
      const r = await c.query('select current_user as u');
      await c.end();
      expect(r.rows[0].u).toBe('app');
      const wrong = await errorOf(new pg.Client(`postgres://appstored:nope@127.0.0.1:${port}/app`).connect());
      expect(wrong?.code).toBe('28P01');
    } finally {
      await m.stop(2000);
    }
  });
});

describe('logging in to nodes', () => {
  it("refuses to send plainuser's cleartext password to a node over plain TCP (default cluster.auth_methods)", async () => {
    const cluster = await sharedCluster('single');
    const mer = await startMeridian(cluster, { clusterYaml: '  auth_methods: [scram-sha-256, md5, password, trust]' });
    try {
      const err = await errorOf(new pg.Client(mer.dsn('plainuser')).connect());
      console.log(`plainuser over plain TCP: ${err?.code} ${err?.message}`);
      expect(err?.message).toMatch(/cleartext password over a connection without TLS/);
      // the SCRAM user is unaffected
      const ok = new pg.Client(mer.dsn('app'));
      await ok.connect();
      await ok.end();
    } finally {
      await mer.stop();
    }
  });

  /** A scripted node: answers the startup with `script`, given the client's SCRAM nonce. */
  async function fakeNode(script: (clientNonce: string) => Buffer[]): Promise<{ port: number; close(): void }> {
    const R = (code: number, payload: Buffer = Buffer.alloc(0)) => {
      const b = Buffer.alloc(9 + payload.length);
      b.write('R', 0);
      b.writeInt32BE(8 + payload.length, 1);
      b.writeInt32BE(code, 5);
      payload.copy(b, 9);
      return b;
    };
    const server = net.createServer((s) => {
      s.on('error', () => {});
      let stage = 0;
      s.on('data', (d: Buffer) => {
        if (stage === 0) {
          stage = 1;
          s.write(R(10, Buffer.from('SCRAM-SHA-256\0\0')));
        } else if (stage === 1) {
          stage = 2;
          const nonce = /r=([^,]+)/.exec(d.toString('latin1'))![1]!;
          for (const f of script(nonce)) s.write(f);
        } else if (stage === 2) {
          stage = 3;
          // whatever the proof: AuthenticationOk and ReadyForQuery, no SASLFinal
          s.write(Buffer.concat([R(0), Buffer.from([0x5a, 0, 0, 0, 5, 0x49])]));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
  }
  const cont = (nonce: string, iterations: number) => {
    const text = Buffer.from(`r=${nonce}srv,s=${Buffer.alloc(16, 1).toString('base64')},i=${iterations}`);
    const b = Buffer.alloc(9 + text.length);
    b.write('R', 0);
    b.writeInt32BE(8 + text.length, 1);
    b.writeInt32BE(11, 5);
    text.copy(b, 9);
    return b;
  };
  const connectTo = (port: number) =>
    connectServer({
      host: '127.0.0.1',
      port,
      user: 'u',
      password: 'pw',
      database: 'd',
      tls: { mode: 'disable', ca: null },
      timeoutMs: 10_000,
    }).then(
      (c) => {
        c.socket.destroy();
        return 'connected';
      },
      (e: Error) => e.message,
    );

  it('refuses a node that asks for an absurd SCRAM iteration count (no derivation)', async () => {
    const node = await fakeNode((nonce) => [cont(nonce, 50_000_000)]);
    try {
      const t0 = performance.now();
      const outcome = await connectTo(node.port);
      console.log(`node asking 50M iterations: refused in ${(performance.now() - t0).toFixed(0)} ms: ${outcome}`);
      expect(outcome).toMatch(/50000000 SCRAM iterations/);
    } finally {
      node.close();
    }
  });

  it('refuses AuthenticationOk that skips SASLFinal (the node never proved it knows the secret)', async () => {
    const node = await fakeNode((nonce) => [cont(nonce, 4096)]);
    try {
      expect(await connectTo(node.port)).toMatch(/AuthenticationOk before the SCRAM exchange completed/);
    } finally {
      node.close();
    }
  });
});
