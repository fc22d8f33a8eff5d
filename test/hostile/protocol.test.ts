// Issue 14, hostile clients on the wire: malformed frames (the 6-byte Parse that once killed the
// process), a generative fuzzer over every frontend message type before and after login in both
// protocols, lying length headers, clients that pipeline without reading, bytes pipelined behind
// login, statement names that are not UTF-8, requests without Sync, statements too long to parse.
// After every attack: the process is alive, a real client is served, no session handler threw
// (meridian_session_crashes_total stays 0), and sessions do not leak.

import fc from 'fast-check';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, connectClient, startMeridian, type RunningMeridian } from '../helpers/meridian.js';
import { sharedCluster, TEST_USERS, type Cluster } from '../support/cluster.js';
import { frame, query, startupPacket, SYNC, Wire } from './wire.js';

let cluster: Cluster;
let mer: RunningMeridian;
const PLAIN = TEST_USERS.plainuser;

beforeAll(async () => {
  cluster = await sharedCluster('single');
  mer = await startMeridian(cluster, {
    pool: 'mode: transaction, size: 5, queue_timeout: 5s',
    usersYaml: `  - { name: trusty, auth: trust, backend_user: app, backend_password: "${TEST_USERS.app.password}" }`,
    extraYaml: 'limits: { max_request_bytes: 256kB, max_parse_bytes: 1MB }',
  });
});

afterAll(async () => {
  await mer?.stop();
});

const login = (extra: Record<string, string> = {}) => Wire.login(mer.port, 'plainuser', PLAIN.password, extra);

async function crashes(): Promise<number> {
  const text = await mer.m.metrics.text();
  const m = /^meridian_session_crashes_total (\d+)/m.exec(text);
  return m === null ? -1 : Number(m[1]);
}

/** A real driver is still served, and the process did not lose anything. */
async function stillServes(): Promise<void> {
  const c = await connectClient(mer);
  try {
    expect((await c.query('select 41 + 1 as x')).rows[0].x).toBe(42);
  } finally {
    await c.end();
  }
}

async function sessionsSettle(max: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (mer.m.sessions.size > max && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return mer.m.sessions.size;
}

describe('malformed frames', () => {
  it('the 6-byte Parse without a terminating NUL closes that session with 08P01, not the process', async () => {
    const bystander = await connectClient(mer);
    const w = await login();
    w.send(Buffer.concat([frame('P', 'x'), SYNC]));
    expect(await w.closed()).toBe(true);
    expect(w.errors()).toEqual([expect.objectContaining({ severity: 'FATAL', code: '08P01', message: expect.stringContaining('invalid P message format') })]);
    expect((await bystander.query('select 1 as x')).rows[0].x).toBe(1);
    await bystander.end();
    await stillServes();
    expect(await crashes()).toBe(0);
  });

  it('a statement name that is not UTF-8 is refused with 08P01 (it would shift the rewritten Parse)', async () => {
    const w = await login();
    // name 0xff 0xff, then SQL: decoded, the name is 6 bytes long and the SQL would be read from the wrong place
    w.send(Buffer.concat([frame('P', Buffer.concat([Buffer.from([0xff, 0xff, 0]), Buffer.from('select 1\0\0\0')])), SYNC]));
    expect(await w.closed()).toBe(true);
    expect(w.errors()[0]).toMatchObject({ code: '08P01', severity: 'FATAL' });
  });

  it('a length header of 1 GB after login is refused at once (08P01), nothing allocated', async () => {
    const w = await login();
    const h = Buffer.alloc(5);
    h[0] = 0x51;
    h.writeInt32BE(1024 ** 3, 1);
    w.send(h);
    expect(await w.closed(5000)).toBe(true);
    expect(w.errors()[0]).toMatchObject({ code: '08P01', message: expect.stringContaining('limits.max_frame_bytes') });
  });

  it('before login, a frame above 8 kB is refused during authentication', async () => {
    const w = await Wire.connect(mer.port);
    w.send(startupPacket({ user: 'plainuser', database: 'app' }));
    await w.until((m) => m.code === 'R');
    const h = Buffer.alloc(5);
    h[0] = 0x70;
    h.writeInt32BE(60 * 1024 * 1024, 1);
    w.send(h);
    expect(await w.closed(5000)).toBe(true);
    expect(w.errors()[0]).toMatchObject({ code: '08P01', message: expect.stringContaining('during authentication') });
  });

  it('50 sessions announcing 60 MB frames and sending 1 kB hold about what they sent, not what they announced', async () => {
    const before = process.memoryUsage();
    const wires = await Promise.all(Array.from({ length: 50 }, () => login()));
    for (const w of wires) {
      const h = Buffer.alloc(5 + 1024, 0x61);
      h[0] = 0x51;
      h.writeInt32BE(60 * 1024 * 1024, 1);
      w.send(h);
    }
    await new Promise((r) => setTimeout(r, 500));
    const after = process.memoryUsage();
    const bufMb = (after.arrayBuffers - before.arrayBuffers) / 1024 / 1024;
    const rssMb = (after.rss - before.rss) / 1024 / 1024;
    console.log(`50 × 60 MB announced: buffers +${bufMb.toFixed(1)} MB, RSS +${rssMb.toFixed(1)} MB (announced: 3000 MB)`);
    expect(bufMb).toBeLessThan(100);
    await stillServes();
    for (const w of wires) w.destroy();
    expect(await sessionsSettle(0)).toBe(0);
  });
});

describe('generative fuzzer (fast-check) over every frontend message type', () => {
  const SQL = [
    'select 1',
    'begin',
    'commit',
    'rollback',
    'savepoint a',
    'select pg_sleep(0)',
    "set meridian.route = 'master'",
    "set meridian.route = 'bogus'",
    'set search_path = public',
    'listen ch',
    'copy (select 1) to stdout',
    'prepare p as select 1',
    'execute p',
    'deallocate all',
    'select * from nowhere',
    '',
    ';;',
    'discard all',
    'set x.y = 1',
    'begin read only; select 1; commit',
  ];
  const name = fc.oneof(
    fc.constantFrom('', 's1', 'p1', 'é'),
    fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a).toString('latin1')),
  );
  const wellFormed = fc.oneof(
    fc.constantFrom(...SQL).map((q) => serialize.query(q)),
    fc.tuple(name, fc.constantFrom(...SQL)).map(([n, q]) => serialize.parse({ name: n, text: q })),
    fc.tuple(name, name).map(([p, s]) => serialize.bind({ portal: p, statement: s, values: ['1', null] })),
    fc.tuple(fc.constantFrom('S', 'P') as fc.Arbitrary<'S' | 'P'>, name).map(([t, n]) => serialize.describe({ type: t, name: n })),
    fc.tuple(fc.constantFrom('S', 'P') as fc.Arbitrary<'S' | 'P'>, name).map(([t, n]) => serialize.close({ type: t, name: n })),
    name.map((p) => serialize.execute({ portal: p, rows: 0 })),
    fc.constantFrom(serialize.sync(), serialize.flush(), serialize.copyDone(), serialize.copyFail('x'), serialize.copyData(Buffer.from('1\n'))),
    fc.constant(frame('F', Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]))),
  );
  const mutated = fc.tuple(wellFormed, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.nat(8)).map(([f, flips, cut]) => {
    const b = Buffer.from(f);
    for (const [i, v] of flips) if (b.length > 5) b[5 + (i % (b.length - 5))] = v;
    const body = b.subarray(5, Math.max(5, b.length - cut));
    return frame(String.fromCharCode(b[0]!), body);
  });
  const noise = fc.tuple(fc.constantFrom(...'QPBDCEFSHXdcfpz?'.split('')), fc.uint8Array({ maxLength: 40 })).map(([c, a]) => frame(c, Buffer.from(a)));
  const anyFrame = fc.oneof({ weight: 4, arbitrary: wellFormed }, { weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: noise });
  /** The bytes of a sequence, cut into chunks at random places (decoders must not care). */
  const sequence = fc.tuple(fc.array(anyFrame, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 4 }));

  async function runAfterLogin(frames: Buffer[], cuts: number[]): Promise<'closed' | 'open'> {
    const w = await login();
    try {
      const all = Buffer.concat([...frames, SYNC, query('select 1')]);
      const points = [...new Set(cuts.map((c) => c % all.length))].sort((a, b) => a - b);
      let prev = 0;
      for (const p of [...points, all.length]) {
        w.send(all.subarray(prev, p));
        prev = p;
        await new Promise((r) => setImmediate(r));
      }
      // Either the session ends (a violation) or it answers the trailing select 1 / settles.
      const deadline = Date.now() + 1500;
      while (!w.isClosed && Date.now() < deadline && w.count('Z') < 2) await new Promise((r) => setTimeout(r, 20));
      for (const e of w.errors()) expect(e.code, e.message).toMatch(/^[0-9A-Z]{5}$/);
      return w.isClosed ? 'closed' : 'open';
    } finally {
      w.destroy();
    }
  }

  it('after login, simple and extended protocol: 240 random sessions, no crash, no leak', async () => {
    const samples = fc.sample(sequence, { numRuns: 240, seed: 1414 });
    const outcomes = { closed: 0, open: 0 };
    const t0 = Date.now();
    for (let i = 0; i < samples.length; i += 12) {
      const batch = samples.slice(i, i + 12);
      for (const r of await Promise.all(batch.map(([f, c]) => runAfterLogin(f, c)))) outcomes[r]++;
    }
    console.log(`fuzz after login: 240 sessions in ${Date.now() - t0} ms, ${outcomes.closed} closed by a protocol error, ${outcomes.open} served`);
    expect(outcomes.closed).toBeGreaterThan(0);
    expect(outcomes.open).toBeGreaterThan(0);
    expect(await crashes()).toBe(0);
    await stillServes();
    expect(await sessionsSettle(0)).toBe(0);
  }, 120_000);

  it('before login: random startup packets and authentication messages, no crash', async () => {
    const params = fc.dictionary(
      fc.constantFrom('user', 'database', 'options', 'application_name', 'x', 'replication', ''),
      fc.oneof(fc.constantFrom('plainuser', 'app', 'nobody', 'trusty', '', '-c meridian.route=master', '-c', 'app'), fc.string({ maxLength: 12 })),
    );
    const version = fc.constantFrom(196608, 196608, 80877103, 80877102, 80877104, 0x00020000, 0x00030001, 12345);
    const startup = fc.tuple(params, version, fc.integer({ min: -3, max: 3 }), fc.boolean()).map(([p, v, lenDelta, dropNul]) => {
      const b = Buffer.from(startupPacket(p));
      b.writeInt32BE(v, 4);
      const body = dropNul ? b.subarray(0, b.length - 1) : b;
      const out = Buffer.from(body);
      out.writeInt32BE(Math.max(0, body.length + lenDelta), 0);
      return out;
    });
    const passwordMsg = fc.oneof(
      fc.constant(frame('p', `${PLAIN.password}\0`)),
      fc.uint8Array({ maxLength: 60 }).map((a) => frame('p', Buffer.from(a))),
      fc
        .tuple(fc.constantFrom('SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS', 'x', ''), fc.integer({ min: -2, max: 80 }), fc.string({ maxLength: 40 }))
        .map(([mech, len, data]) => {
          const d = Buffer.from(data);
          const b = Buffer.alloc(mech.length + 1 + 4 + d.length);
          b.write(mech, 0);
          b.writeInt32BE(len, mech.length + 1);
          d.copy(b, mech.length + 5);
          return frame('p', b);
        }),
      fc.constantFrom(frame('X'), query('select 1'), frame('p', 'n,,n=,r=abc\0')),
    );
    const attempt = fc.tuple(startup, fc.array(passwordMsg, { maxLength: 3 }), fc.boolean());
    const samples = fc.sample(attempt, { numRuns: 200, seed: 1415 });
    const t0 = Date.now();
    let closed = 0;
    for (let i = 0; i < samples.length; i += 20) {
      await Promise.all(
        samples.slice(i, i + 20).map(async ([pkt, msgs, together]) => {
          const w = await Wire.connect(mer.port);
          try {
            if (together) w.send(Buffer.concat([pkt, ...msgs]));
            else {
              w.send(pkt);
              for (const m of msgs) {
                await new Promise((r) => setTimeout(r, 5));
                w.send(m);
              }
            }
            if (await w.closed(1000)) closed++;
          } finally {
            w.destroy();
          }
        }),
      );
    }
    console.log(`fuzz before login: 200 connections in ${Date.now() - t0} ms, ${closed} closed by Meridian within 1 s`);
    expect(await crashes()).toBe(0);
    await stillServes();
    expect(await sessionsSettle(0)).toBe(0);
  }, 120_000);
});

describe('clients that do not read, and requests without end', () => {
  it('100 000 requests Meridian answers itself, pipelined by a client that never reads: output held for it stays bounded, nothing is lost', async () => {
    const w = await login();
    w.socket.pause(); // never reads until the end
    const n = 100_000;
    const one = query("set meridian.route = 'bogus'"); // refused by Meridian itself: 22023 + ReadyForQuery
    const rss0 = process.memoryUsage().rss;
    const chunk = Buffer.concat(Array.from({ length: 1000 }, () => one));
    for (let i = 0; i < n / 1000; i++) w.send(chunk);
    // Let Meridian take what it will; measure what it holds for the client's socket.
    let maxBacklog = 0;
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      for (const s of mer.m.sessions.values()) if (s.ident.user === 'plainuser') maxBacklog = Math.max(maxBacklog, s.socket.writableLength);
      await new Promise((r) => setTimeout(r, 50));
    }
    const rssMb = (process.memoryUsage().rss - rss0) / 1024 / 1024;
    console.log(
      `${n} pipelined unread requests: Meridian's output backlog for the client peaked at ${(maxBacklog / 1024).toFixed(0)} kB, RSS +${rssMb.toFixed(1)} MB`,
    );
    // Unbounded, the replies would be about 100 000 × 110 bytes = 11 MB.
    expect(maxBacklog).toBeLessThan(3 * 1024 * 1024);
    w.socket.resume();
    const t0 = Date.now();
    while (w.count('Z') < n && Date.now() - t0 < 60_000 && !w.isClosed) await new Promise((r) => setTimeout(r, 50));
    expect(w.count('Z')).toBe(n);
    expect(w.count('E')).toBe(n);
    expect(w.errors()[0]!.code).toBe('22023');
    w.destroy();
  }, 90_000);

  it('100 000 pipelined selects sent to a server by a client that reads only at the end: all answered, backlog bounded', async () => {
    const w = await login();
    w.socket.pause();
    const n = 100_000;
    const chunk = Buffer.concat(Array.from({ length: 1000 }, () => query('select 1')));
    for (let i = 0; i < n / 1000; i++) w.send(chunk);
    let maxBacklog = 0;
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      for (const s of mer.m.sessions.values()) if (s.ident.user === 'plainuser') maxBacklog = Math.max(maxBacklog, s.socket.writableLength, s.held.bytes);
      await new Promise((r) => setTimeout(r, 50));
    }
    console.log(`${n} pipelined selects, unread: Meridian held at most ${(maxBacklog / 1024).toFixed(0)} kB for the client`);
    expect(maxBacklog).toBeLessThan(3 * 1024 * 1024);
    w.socket.resume();
    const t0 = Date.now();
    while (w.count('Z') < n && Date.now() - t0 < 80_000 && !w.isClosed) await new Promise((r) => setTimeout(r, 50));
    console.log(`… and answered all ${w.count('Z')} in ${Date.now() - t0} ms once the client read`);
    expect(w.count('Z')).toBe(n);
    w.destroy();
  }, 120_000);

  it('a request streamed without Sync past limits.max_request_bytes fails with 54000; the session goes on after Sync', async () => {
    const w = await login();
    const be = Buffer.concat([serialize.bind({ values: ['x'.repeat(200)] }), serialize.execute({})]);
    w.send(serialize.parse({ text: 'select $1::text' }));
    for (let i = 0; i < 2000; i++) w.send(be); // ~450 kB without Sync
    w.send(SYNC);
    await w.until((m) => m.code === 'Z');
    expect(w.errors()[0]).toMatchObject({ code: '54000', message: expect.stringContaining('limits.max_request_bytes') });
    w.messages.length = 0;
    w.send(query('select 7'));
    const row = await w.until((m) => m.code === 'D');
    expect(row.body.toString('utf8', 6)).toBe('7');
    w.destroy();
  });

  it('too many prepared statements in one session end it with 54000 (limits.max_prepared_statements)', async () => {
    const small = await startMeridian(cluster, { extraYaml: 'limits: { max_prepared_statements: 50 }' });
    try {
      const w = await Wire.login(small.port, 'plainuser', PLAIN.password);
      const frames: Buffer[] = [];
      for (let i = 0; i < 60; i++) frames.push(serialize.parse({ name: `s${i}`, text: `select ${i}` }));
      w.send(Buffer.concat([...frames, SYNC]));
      expect(await w.closed()).toBe(true);
      expect(w.errors().at(-1)).toMatchObject({ code: '54000', severity: 'FATAL', message: expect.stringContaining('limits.max_prepared_statements') });
    } finally {
      await small.stop();
    }
  });
});

describe('bytes pipelined behind login are kept', () => {
  it('trust: a Query in the same packet as the StartupMessage is answered', async () => {
    const w = await Wire.connect(mer.port);
    w.send(Buffer.concat([startupPacket({ user: 'trusty', database: 'app' }), query('select 40 + 2')]));
    const row = await w.until((m) => m.code === 'D');
    expect(row.body.toString('utf8', 6)).toBe('42');
    w.destroy();
  });

  it('password: a Query in the same packet as the password message is answered', async () => {
    const w = await Wire.connect(mer.port);
    w.send(startupPacket({ user: 'plainuser', database: 'app' }));
    await w.until((m) => m.code === 'R');
    w.send(Buffer.concat([frame('p', `${PLAIN.password}\0`), query('select 43'), query('select 44').subarray(0, 6)]));
    await new Promise((r) => setTimeout(r, 50));
    w.send(query('select 44').subarray(6));
    await w.until((m) => m.code === 'Z' && w.count('Z') >= 3);
    expect(w.messages.filter((m) => m.code === 'D').map((m) => m.body.toString('utf8', 6))).toEqual(['43', '44']);
    w.destroy();
  });
});

describe('statements too long to parse on the event loop', () => {
  it('a statement above limits.max_parse_bytes is routed as a write without parsing; EXPLAIN ROUTE says so; other sessions are not stalled', async () => {
    const huge = `select 1 /* ${'x'.repeat(8 * 1024 * 1024)} */`;
    const admin = new pg.Client(`postgres://admin:${ADMIN_PASSWORD}@127.0.0.1:${mer.port}/meridian`);
    await admin.connect();
    try {
      const t0 = performance.now();
      const r = await admin.query(`EXPLAIN ROUTE ${huge}`);
      const ms = performance.now() - t0;
      const text = JSON.stringify(r.rows);
      console.log(`EXPLAIN ROUTE of an 8 MB statement: ${ms.toFixed(0)} ms`);
      expect(text).toContain('max_parse_bytes');
    } finally {
      await admin.end();
    }
    const c = await connectClient(mer);
    const probe = await connectClient(mer);
    try {
      let worst = 0;
      let stop = false;
      const watcher = (async () => {
        while (!stop) {
          const t = performance.now();
          await probe.query('select 1');
          worst = Math.max(worst, performance.now() - t);
        }
      })();
      expect((await c.query(huge)).rows[0]['?column?']).toBe(1);
      stop = true;
      await watcher;
      console.log(`while an 8 MB statement went through, another session's slowest select 1 took ${worst.toFixed(1)} ms`);
    } finally {
      await c.end();
      await probe.end();
    }
  }, 60_000);
});

describe('shutdown', () => {
  it('closes connections still logging in at once (57P01), not at limits.auth_timeout', async () => {
    const own = await startMeridian(cluster, {});
    const w = await Wire.connect(own.port);
    w.send(startupPacket({ user: 'app', database: 'app' })); // SCRAM: waits for the client's first message
    await w.until((m) => m.code === 'R');
    const t0 = performance.now();
    await own.stop();
    expect(await w.closed(3000)).toBe(true);
    console.log(`shutdown closed a connection still logging in after ${(performance.now() - t0).toFixed(0)} ms`);
    expect(w.errors()[0]).toMatchObject({ code: '57P01' });
  });
});
