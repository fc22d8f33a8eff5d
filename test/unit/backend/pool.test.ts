// The pool without sockets: backends are opened through an injected connector that hands out
// in-memory connections (a Duplex that records what Meridian writes; the test answers by emitting
// server frames), and the clock is a number. Queue order, queue timeout, drain, lifetime and idle
// expiry, a failed connect, and the reset before a backend changes hands.

import { Duplex } from 'node:stream';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import { NodeDownError, NodeDrainingError, Pool, PoolTimeoutError, type AcquireCallback, type PoolHooks } from '../../../src/backend/pool.js';
import { ConnectError, type ConnectedServer, type ConnectOptions } from '../../../src/backend/server-connect.js';
import { Input } from '../../../src/net/read-slot.js';

/** A server connection in memory: what Meridian writes is kept; `serverSends` plays the node. */
class FakeServerSocket extends Duplex {
  readonly written: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written.push(Buffer.from(chunk));
    cb();
  }
  override _read(): void {}
  /** Frames from the node, delivered synchronously as one read. */
  serverSends(...frames: Buffer[]): void {
    this.emit('data', Buffer.concat(frames));
  }
  /** The SQL of every Query frame Meridian sent. */
  queries(): string[] {
    const all = Buffer.concat(this.written);
    const out: string[] = [];
    for (let at = 0; at + 5 <= all.length; at += 1 + all.readInt32BE(at + 1)) {
      if (all[at] === 0x51 /* Q */) out.push(all.toString('utf8', at + 5, at + all.readInt32BE(at + 1)).replace(/\0$/, ''));
    }
    return out;
  }
}

const readyIdle = () => Buffer.from([0x5a, 0, 0, 0, 5, 0x49]); // ReadyForQuery 'I'

/** Hands out connections when the test says so: each connect waits until accepted or refused. */
class FakeNode {
  readonly attempts: { opts: ConnectOptions; accept: () => FakeServerSocket; refuse: (why: string) => void }[] = [];
  private pid = 100;
  readonly connect = (opts: ConnectOptions): Promise<ConnectedServer> =>
    new Promise((resolve, reject) => {
      this.attempts.push({
        opts,
        accept: () => {
          const socket = new FakeServerSocket();
          const s = socket as unknown as net.Socket;
          resolve({ socket: s, input: new Input(s, null), pid: this.pid++, secret: 7, params: new Map([['server_version', '17.0']]) });
          return socket;
        },
        refuse: (why) => reject(new ConnectError(why, null, true)),
      });
    });
}

/** Lets connect promises settle (their callbacks run as microtasks). */
const settle = () => new Promise<void>((r) => setImmediate(r));

interface Harness {
  pool: Pool;
  node: FakeNode;
  clock: { nowMs: number };
  closed: string[];
  connectErrors: string[];
  /** Acquires for a session; the outcome lands in the returned record. */
  acquire(sessionId: number, timeoutMs?: number): { err: Error | null; backend: Backend | null; isDone: boolean };
}

let pools: Pool[] = [];

function harness(maxSize: number, over: Partial<PoolHooks> = {}): Harness {
  const clock = { nowMs: 1_000_000 };
  const closed: string[] = [];
  const connectErrors: string[] = [];
  const hooks: PoolHooks = {
    onConnectError: (_node, err) => connectErrors.push(err.message),
    onBackendClosed: (b, reason) => closed.push(`${b.serverPid}: ${reason}`),
    onBackendOpened: () => {},
    nowMs: () => clock.nowMs,
    resetQuery: () => null,
    isSessionMode: () => false,
    resetTimeoutMs: () => 5_000,
    ...over,
  };
  const node = new FakeNode();
  const opts: ConnectOptions = {
    host: '127.0.0.1',
    port: 1,
    user: 'app',
    password: 'x',
    database: 'db',
    tls: { mode: 'disable' } as ConnectOptions['tls'],
    timeoutMs: 1000,
  };
  const pool = new Pool('n1', 'app', 'db', maxSize, () => opts, hooks, node.connect);
  pools.push(pool);
  return {
    pool,
    node,
    clock,
    closed,
    connectErrors,
    acquire(sessionId, timeoutMs = 1_000) {
      const out = { err: null as Error | null, backend: null as Backend | null, isDone: false };
      const cb: AcquireCallback = (err, b) => {
        out.err = err;
        out.backend = b;
        out.isDone = true;
      };
      pool.acquire(timeoutMs, cb, sessionId);
      return out;
    },
  };
}

afterEach(() => {
  for (const p of pools) p.closeIdle('test over');
  pools = [];
});

describe('Pool', () => {
  it('opens backends up to its size, then queues sessions and serves them first come, first served', async () => {
    const h = harness(2);
    const a = h.acquire(1);
    const b = h.acquire(2);
    expect(h.node.attempts).toHaveLength(2);
    h.node.attempts[0]!.accept();
    h.node.attempts[1]!.accept();
    await settle();
    expect(a.backend).not.toBeNull();
    expect(b.backend).not.toBeNull();
    const waiting = [h.acquire(3), h.acquire(4), h.acquire(5)];
    expect(h.node.attempts).toHaveLength(2); // full: no third connect
    expect(h.pool.waitingCount).toBe(3);
    expect(waiting.some((w) => w.isDone)).toBe(false);

    h.pool.release(b.backend!);
    expect(waiting[0]!.backend).toBe(b.backend); // the first waiter, not the last
    expect(waiting[1]!.isDone).toBe(false);
    h.pool.release(a.backend!);
    expect(waiting[1]!.backend).toBe(a.backend);
    expect(waiting[2]!.isDone).toBe(false);
    h.pool.release(waiting[0]!.backend!);
    expect(waiting[2]!.backend).toBe(b.backend);
    expect(h.pool.waitingCount).toBe(0);
    expect(h.pool.total).toBe(2);
  });

  it('a released clean backend is idle and is handed out again without a new connect', async () => {
    const h = harness(2);
    const a = h.acquire(1);
    h.node.attempts[0]!.accept();
    await settle();
    h.pool.release(a.backend!);
    expect(h.pool.idleCount).toBe(1);
    const again = h.acquire(2);
    expect(again.backend).toBe(a.backend);
    expect(h.node.attempts).toHaveLength(1);
  });

  it('queue timeout: the sweep fails a waiter past its deadline with PoolTimeoutError, and only that one', async () => {
    const h = harness(1);
    const a = h.acquire(1);
    h.node.attempts[0]!.accept();
    await settle();
    const first = h.acquire(2, 100);
    h.clock.nowMs += 50;
    const second = h.acquire(3, 100);
    h.pool.sweep(h.clock.nowMs + 49, 60_000, 3_600_000, 100);
    expect(first.isDone).toBe(false);
    h.pool.sweep(h.clock.nowMs + 50, 60_000, 3_600_000, 100);
    expect(first.err).toBeInstanceOf(PoolTimeoutError);
    expect(first.err!.message).toBe('timed out after 100 ms waiting for a server connection');
    expect(first.backend).toBeNull();
    expect(second.isDone).toBe(false);
    h.pool.release(a.backend!);
    expect(second.backend).toBe(a.backend);
  });

  it('a failed connect answers its session with the ConnectError, reports it, and frees the slot for the next waiter', async () => {
    const h = harness(1);
    const a = h.acquire(1);
    const b = h.acquire(2);
    expect(h.pool.waitingCount).toBe(1);
    h.node.attempts[0]!.refuse('connection refused');
    await settle();
    expect(a.err).toBeInstanceOf(ConnectError);
    expect(h.connectErrors).toEqual(['connection refused']);
    expect(h.node.attempts).toHaveLength(2); // the waiter got a connect of its own
    h.node.attempts[1]!.accept();
    await settle();
    expect(b.backend).not.toBeNull();
    expect(h.pool.total).toBe(1);
  });

  it('drain: no new backend (NodeDrainingError), a released backend closes, idle ones close, waiters fail', async () => {
    const h = harness(2);
    const a = h.acquire(1);
    const b = h.acquire(2);
    h.node.attempts[0]!.accept();
    h.node.attempts[1]!.accept();
    await settle();
    h.pool.release(b.backend!);
    const waiter = harness(1); // a second pool whose waiter is failed by failWaiters
    const w1 = waiter.acquire(1);
    const w2 = waiter.acquire(2);
    // the pool manager's drain: the flag, then the idle backends close
    h.pool.isDraining = true;
    h.pool.closeIdle('node drained');
    expect(h.closed).toEqual([`${b.backend!.serverPid}: node drained`]);
    const refused = h.acquire(3);
    expect(refused.err).toBeInstanceOf(NodeDrainingError);
    expect(h.node.attempts).toHaveLength(2);
    h.pool.release(a.backend!);
    expect(a.backend!.isClosed).toBe(true);
    expect(a.backend!.closeReason).toBe('node draining');
    expect(h.pool.total).toBe(0);
    expect(h.pool.isEmpty).toBe(true);
    waiter.pool.failWaiters(new NodeDrainingError('node "n1" is draining'));
    expect(w1.isDone).toBe(false); // still connecting: not a waiter
    expect(w2.err).toBeInstanceOf(NodeDrainingError);
  });

  it('regression: a session waiting for a connect to a node that went down (hung: TCP accepted, startup never answered) routes again at once, not after connect_timeout', async () => {
    const h = harness(2);
    const hung = h.acquire(1);
    const refusedLater = h.acquire(2);
    expect(h.pool.connecting).toBe(2);
    h.pool.abandonConnects(new NodeDownError('node "n1" is down'));
    expect(hung.err).toBeInstanceOf(NodeDownError);
    expect(refusedLater.err).toBeInstanceOf(NodeDownError);
    // The connects still run: one completes when the node wakes up and is closed, not handed out
    // or kept idle; the other fails and only frees its slot.
    h.node.attempts[0]!.accept();
    h.node.attempts[1]!.refuse('connect timeout');
    await settle();
    expect(hung.backend).toBeNull();
    expect(h.closed).toEqual(['100: node went down while it was connecting']);
    expect(h.connectErrors).toEqual(['connect timeout']);
    expect(h.pool.connecting).toBe(0);
    expect(h.pool.total).toBe(0);
    expect(h.pool.idleCount).toBe(0);
    // A later acquire opens a new backend as usual.
    const next = h.acquire(3);
    h.node.attempts[2]!.accept();
    await settle();
    expect(next.backend).not.toBeNull();
  });

  it('max lifetime closes an idle backend older than it; idle timeout closes the least recently used first, keeping min_idle', async () => {
    const h = harness(3);
    const got = [h.acquire(1), h.acquire(2), h.acquire(3)];
    for (const at of h.node.attempts) at.accept();
    await settle();
    const [oldest, middle, newest] = got.map((g) => g.backend!);
    h.pool.release(oldest!);
    h.clock.nowMs += 1_000;
    h.pool.release(middle!);
    h.clock.nowMs += 1_000;
    h.pool.release(newest!);
    // idle timeout 1.5 s: only the one unused for 2 s goes, min_idle 0
    h.pool.sweep(h.clock.nowMs, 1_500, 3_600_000, 1_000);
    expect(h.closed).toEqual([`${oldest!.serverPid}: idle timeout`]);
    // idle timeout 0.5 s: the middle one would go too, but min_idle 2 keeps both remaining
    h.pool.sweep(h.clock.nowMs, 500, 3_600_000, 1_000, 2);
    expect(h.pool.idleCount).toBe(2);
    // lifetime: all three were opened at the start; 1 h later both remaining close whatever min_idle says
    h.clock.nowMs += 3_600_001;
    h.pool.sweep(h.clock.nowMs, 10_000_000, 3_600_000, 1_000, 2);
    expect(h.closed.slice(1).sort()).toEqual([`${middle!.serverPid}: max lifetime`, `${newest!.serverPid}: max lifetime`].sort());
    expect(h.pool.total).toBe(0);
  });

  it('a backend released dirty (in a transaction) is closed, and its slot serves the next waiter with a new connect', async () => {
    const h = harness(1);
    const a = h.acquire(1);
    h.node.attempts[0]!.accept();
    await settle();
    const next = h.acquire(2);
    a.backend!.txStatus = 0x54; // 'T'
    h.pool.release(a.backend!);
    expect(a.backend!.closeReason).toBe('released dirty');
    expect(h.node.attempts).toHaveLength(2);
    h.node.attempts[1]!.accept();
    await settle();
    expect(next.backend).not.toBeNull();
    expect(next.backend).not.toBe(a.backend);
  });

  it('a backend that needs a reset gets DISCARD ALL before the next session may have it', async () => {
    const h = harness(1);
    const a = h.acquire(1);
    const socket = h.node.attempts[0]!.accept();
    await settle();
    const next = h.acquire(2);
    a.backend!.needsReset = true;
    a.backend!.settings.set('search_path', "SET search_path = 'x'");
    h.pool.release(a.backend!);
    expect(socket.queries()).toEqual(['DISCARD ALL']);
    expect(next.isDone).toBe(false); // not before the node answered
    expect(h.pool.resettingCount).toBe(1);
    socket.serverSends(Buffer.from([0x43, 0, 0, 0, 16, ...Buffer.from('DISCARD ALL\0')]), readyIdle());
    expect(next.backend).toBe(a.backend);
    expect(a.backend!.needsReset).toBe(false);
    expect(a.backend!.settings.size).toBe(0);
    expect(h.pool.resettingCount).toBe(0);
  });

  it('a reset that does not answer in time closes the backend; its slot is opened again for the waiter', async () => {
    const h = harness(1);
    const a = h.acquire(1);
    h.node.attempts[0]!.accept();
    await settle();
    const next = h.acquire(2, 60_000);
    a.backend!.needsReset = true;
    h.pool.release(a.backend!);
    h.clock.nowMs += 5_000;
    h.pool.sweep(h.clock.nowMs, 60_000, 3_600_000, 60_000);
    expect(a.backend!.closeReason).toBe('reset failed: reset timed out');
    expect(h.node.attempts).toHaveLength(2);
    h.node.attempts[1]!.accept();
    await settle();
    expect(next.backend).not.toBeNull();
  });
});

describe('Pool queue timeout after a reload', () => {
  it('regression: a waiter with a shorter timeout (pool.queue_timeout lowered by a reload) times out on time behind one with a longer timeout', async () => {
    const h = harness(1);
    const a = h.acquire(1);
    h.node.attempts[0]!.accept();
    await settle();
    const before = h.acquire(2, 60_000); // queued under the old queue_timeout
    const after = h.acquire(3, 1_000); // queued after a reload set it to 1 s
    h.pool.sweep(h.clock.nowMs + 1_000, 60_000, 3_600_000, 1_000);
    expect(after.err).toBeInstanceOf(PoolTimeoutError);
    expect(before.isDone).toBe(false);
    expect(h.pool.waitingCount).toBe(1);
    h.pool.release(a.backend!);
    expect(before.backend).toBe(a.backend);
  });
});
