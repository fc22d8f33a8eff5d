// Meridian's own work per statement, in process: a real Session, Backend, Classifier, router and
// Metrics driven with fake sockets (no kernel, no PostgreSQL) through pgbench's two transactions
// as `-M simple` sends them — tpcb-like (BEGIN, 5 statements with fresh literals, END) and
// select-only — each statement answered by a scripted server. What it times is the JavaScript
// between a client's read and the writes it causes: framing, classification, planning, routing,
// the op queue, the relay and the bookkeeping at ReadyForQuery, as the process's CPU time per
// transaction (median of runs). The socket layer's own cost is what `npm run bench` measures
// against the bare relay.
// Run: npx tsx bench/session-path.ts [--quick]

import { EventEmitter } from 'node:events';
import pino from 'pino';
import { Backend } from '../src/backend/backend.js';
import { VolatilityCatalog } from '../src/classify/catalog.js';
import { Classifier } from '../src/classify/classifier.js';
import type { MeridianConfig } from '../src/config/types.js';
import type { ProxyContext } from '../src/frontend/context.js';
import { Session } from '../src/frontend/session.js';
import { SessionState } from '../src/frontend/session-state.js';
import { Metrics } from '../src/metrics/metrics.js';
import { node } from '../test/unit/router/fixtures.js';
import { route } from '../src/router/route.js';
import type { RoutePolicy, SessionRouteContext } from '../src/router/types.js';
import { buildSnapshot } from '../src/topology/snapshot.js';

const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 3 : 7;
const RUN_MS = QUICK ? 300 : 700;
/** Sessions driven side by side, each with its own backend (pgbench's -c 8). */
const SESSIONS = 8;

/** A socket that keeps only what the bench checks: the frames written, counted by type. */
class NullSocket extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  remoteAddress = '127.0.0.1';
  writes = 0;
  /** ReadyForQuery frames seen in what was written (the end of each answer). */
  readies = 0;
  last: Buffer | null = null;
  write(buf: Buffer): boolean {
    this.writes++;
    this.last = buf;
    for (let pos = 0; pos + 5 <= buf.length; pos += 1 + buf.readInt32BE(pos + 1)) if (buf[pos] === 0x5a) this.readies++;
    return true;
  }
  cork(): void {}
  uncork(): void {}
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  isPaused(): boolean {
    return false;
  }
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
  setNoDelay(): void {}
}

// ---- frames ----

function frame(code: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = code.charCodeAt(0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstr = (s: string): Buffer => Buffer.from(`${s}\0`);
const query = (sql: string): Buffer => frame('Q', cstr(sql));
const ready = (status: 'I' | 'T'): Buffer => frame('Z', Buffer.from(status));
const complete = (tag: string): Buffer => frame('C', cstr(tag));
function dataRow(text: string): Buffer {
  const v = Buffer.from(text);
  const body = Buffer.alloc(6 + v.length);
  body.writeInt16BE(1, 0);
  body.writeInt32BE(v.length, 2);
  v.copy(body, 6);
  return frame('D', body);
}
const rowDescription = frame('T', Buffer.concat([Buffer.from([0, 1]), cstr('abalance'), Buffer.alloc(18)]));

// ---- pgbench's scripts, with literals drawn as pgbench draws them ----

let seed = 7;
const rnd = (n: number): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return ((seed >>> 0) % n) + 1;
};

/** Client frames of one tpcb-like transaction and the server's answer to what each sends on. */
function tpcb(): { client: Buffer[]; server: (Buffer | null)[] } {
  const aid = rnd(1_000_000);
  const tid = rnd(100);
  const bid = rnd(10);
  const delta = rnd(10_000) - 5000;
  const client = [
    query('BEGIN;'),
    query(`UPDATE pgbench_accounts SET abalance = abalance + ${delta} WHERE aid = ${aid};`),
    query(`SELECT abalance FROM pgbench_accounts WHERE aid = ${aid};`),
    query(`UPDATE pgbench_tellers SET tbalance = tbalance + ${delta} WHERE tid = ${tid};`),
    query(`UPDATE pgbench_branches SET bbalance = bbalance + ${delta} WHERE bid = ${bid};`),
    query(`INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (${tid}, ${bid}, ${aid}, ${delta}, CURRENT_TIMESTAMP);`),
    query('END;'),
  ];
  const inTx = ready('T');
  const server = [
    null, // the BEGIN is Meridian's to answer (routing.defer_begin); it goes out with the first UPDATE
    Buffer.concat([complete('BEGIN'), inTx, complete('UPDATE 1'), inTx]),
    Buffer.concat([rowDescription, dataRow(String(delta)), complete('SELECT 1'), inTx]),
    Buffer.concat([complete('UPDATE 1'), inTx]),
    Buffer.concat([complete('UPDATE 1'), inTx]),
    Buffer.concat([complete('INSERT 0 1'), inTx]),
    Buffer.concat([complete('COMMIT'), ready('I')]),
  ];
  return { client, server };
}

function selectOnly(): { client: Buffer[]; server: (Buffer | null)[] } {
  const aid = rnd(1_000_000);
  return {
    client: [query(`SELECT abalance FROM pgbench_accounts WHERE aid = ${aid};`)],
    server: [Buffer.concat([rowDescription, dataRow(String(aid % 9999)), complete('SELECT 1'), ready('I')])],
  };
}

// ---- the proxy around one session ----

interface Driven {
  readonly session: Session;
  readonly client: NullSocket;
  readonly feedServer: (chunk: Buffer) => void;
}

/** `n` sessions on one proxy context (one classifier, router, metrics), each with a backend of its own. */
async function setup(n: number): Promise<Driven[]> {
  await Classifier.init();
  const classifier = new Classifier({ catalog: new VolatilityCatalog() });
  const cfg = {
    limits: { maxFrameBytes: 64 * 1024 * 1024, maxRequestBytes: 64 * 1024 * 1024, maxPreparedStatements: 10_000, maxSessionSettings: 1000 },
    routing: { writeWaitMs: 0, retryReads: true, retryRefusedWrites: true, readYourWrites: false, deferBegin: true, maxReadLagMs: 5000 },
    pool: { queueTimeoutMs: 1000, preparedStatementsPerBackend: 100, sessionReuse: true, mode: 'transaction' },
    cluster: { kind: 'physical', nodes: [] },
  } as unknown as MeridianConfig;
  const snap = buildSnapshot([node('m', { region: 'eu' })], 1, 0);
  const policy: RoutePolicy = {
    kind: 'physical',
    isMultiMaster: false,
    readsOnMasters: 'fallback',
    maxReadLagMs: 5000,
    lagToleranceMs: 100,
    proxyRegion: 'eu',
    proxyLocation: null,
  };
  const routeCtx: SessionRouteContext = { allowedRegions: null, residencyRule: null, clientRegion: null, sessionHint: null };
  const backends: Backend[] = [];
  const feeds: ((chunk: Buffer) => void)[] = [];
  const pool = {
    isRemoved: false,
    tryAcquire: (sessionId: number) => backends[sessionId]!,
    acquire: () => {},
    release: () => {},
  };
  for (let i = 0; i < n; i++) {
    const conn = {
      socket: new NullSocket(),
      input: { set: (fn: (c: Buffer) => void) => (feeds[i] = fn) },
      pid: 4242 + i,
      secret: 1,
      params: new Map(),
      leftover: null,
    };
    const b = new Backend('m', 'bench', 'bench', conn as never, 0);
    b.pool = pool as never;
    backends.push(b);
  }
  const ctx = {
    cfg: () => cfg,
    logger: pino({ level: 'warn' }),
    pools: { nowMs: 0, pool: () => pool },
    health: { snapshot: snap, waitForChange: () => Promise.resolve(null) },
    classify: (sql: string) => classifier.classify(sql),
    snapshot: () => snap,
    route: (intent: 'read' | 'write') => route({ intent, hint: null }, snap, routeCtx, policy, () => 0),
    reportNodeFailure() {},
    recheckNode: () => Promise.resolve(),
    onCatalogChanged() {},
    isShuttingDown: () => false,
    registerSession() {},
    unregisterSession() {},
    cancels: { note() {}, forward() {} },
    metrics: new Metrics(),
  } as unknown as ProxyContext;
  const out: Driven[] = [];
  for (let i = 0; i < n; i++) {
    const client = new NullSocket();
    const session = new Session(i, 1, client as never, ctx);
    session.state = new SessionState(i, new Map(), null);
    session.beginRequests(client as never);
    out.push({ session, client, feedServer: (chunk) => feeds[i]!(chunk) });
  }
  return out;
}

// ---- timing ----

interface Script {
  readonly client: Buffer[];
  readonly server: (Buffer | null)[];
}

/** One transaction on each session, interleaved statement by statement (as concurrent clients are). */
function drive(all: readonly Driven[], scripts: readonly Script[], from: number): void {
  const steps = scripts[0]!.client.length;
  for (let i = 0; i < steps; i++) {
    for (let s = 0; s < all.length; s++) {
      const d = all[s]!;
      const t = scripts[(from + s) & 4095]!;
      d.session.onClientData(t.client[i]!);
      const answer = t.server[i];
      if (answer != null) d.feedServer(answer);
    }
  }
}

async function measure(label: string, make: () => Script, statements: number): Promise<void> {
  const all = await setup(SESSIONS);
  // Fresh literals every transaction, as pgbench sends them: a pool of scripts drawn in turn.
  const scripts = Array.from({ length: 4096 }, make);
  // Sanity: every statement gets its ReadyForQuery and each session ends idle, without a backend.
  drive(all, scripts, 0);
  for (const d of all) {
    if (d.client.readies !== statements || d.session.attached !== null) {
      throw new Error(`${label}: the scripted transaction did not complete (${d.client.readies} ReadyForQuery)`);
    }
  }
  const results: number[] = [];
  let k = 0;
  for (let r = 0; r < RUNS + 1; r++) {
    let n = 0;
    // CPU time, not wall time: other processes on a shared machine do not count.
    const cpu0 = process.cpuUsage();
    const until = process.hrtime.bigint() + BigInt(RUN_MS) * 1_000_000n;
    while (process.hrtime.bigint() < until) {
      for (let j = 0; j < 16; j++) {
        drive(all, scripts, k);
        k += all.length;
      }
      n += 16 * all.length;
    }
    const cpu = process.cpuUsage(cpu0);
    if (r > 0) results.push((cpu.user + cpu.system) / n); // µs; the first run warms up
  }
  results.sort((a, b) => a - b);
  const med = results[results.length >> 1]!;
  console.log(
    `${label.padEnd(28)} ${med.toFixed(2).padStart(7)} µs/tx  ${(med / statements).toFixed(2).padStart(6)} µs/statement  (min ${results[0]!.toFixed(2)}, max ${results[results.length - 1]!.toFixed(2)}; ${RUNS} runs)`,
  );
}

console.log(`session path, in process (${process.version}; ${SESSIONS} sessions interleaved; fake sockets, real classifier/router/metrics; CPU time)`);
await measure('tpcb-like, -M simple', tpcb, 7);
await measure('select-only, -M simple', selectOnly, 1);
