// Client limits as policy, with fakes and a fake clock: login counts (login-limits.ts), the idle
// verdicts (idle-timeouts.ts), the janitor's sweep (janitor.ts) and the cancel gate
// (cancel-limits.ts). The same behaviours against real PostgreSQL are in test/hostile/limits.test.ts.

import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MeridianError } from '../../../src/errors.js';
import { CANCEL_REPEAT_MS, CancelForwarder, MAX_CANCELS_IN_FLIGHT, type CancelResult } from '../../../src/frontend/cancel-limits.js';
import { checkIdle, IdleKind, IdleVerdict, type IdleMark } from '../../../src/frontend/idle-timeouts.js';
import { ClientJanitor, tickFor, type JanitorSession } from '../../../src/frontend/janitor.js';
import { LoginLimits } from '../../../src/frontend/login-limits.js';
import { load, MINIMAL } from '../config/helpers.js';

const cfgWith = (extra: string) =>
  load(`${MINIMAL.replace('{ name: app, password: s3cret-app }', '{ name: app, password: s3cret-app, max_connections: 2 }')}${extra}`);

describe('LoginLimits', () => {
  it('refuses at accept past max_pending_logins and counts a closed pending connection out', () => {
    const cfg = cfgWith('limits: { max_pending_logins: 2 }\n');
    const l = new LoginLimits();
    const a = l.accepted();
    l.accepted();
    expect(l.refuseAccept(cfg)?.sqlstate).toBe('53300');
    l.closed(a);
    expect(l.refuseAccept(cfg)).toBeNull();
  });

  it('keeps the last admin_reserved_connections of max_clients for the admin console', () => {
    const cfg = cfgWith('pool: { max_clients: 4 }\nlimits: { admin_reserved_connections: 2 }\n');
    const l = new LoginLimits();
    const admitted = (user: string, admin: boolean): MeridianError | null => l.admit(l.accepted(), cfg, user, admin);
    expect(admitted('app', false)).toBeNull();
    expect(admitted('other', false)).toBeNull();
    expect(admitted('other', false)?.message).toMatch(/reserved for the admin console/);
    expect(admitted('admin', true)).toBeNull();
    expect(admitted('admin', true)).toBeNull();
    expect(admitted('admin', true)?.code).toBe('TOO_MANY_CLIENTS');
    expect(l.loggedIn).toBe(4);
    expect(l.pending).toBe(2); // the refused ones stay pending until their connection closes
  });

  it('applies users[].max_connections to ordinary sessions only, and frees a slot on close', () => {
    const cfg = cfgWith('');
    const l = new LoginLimits();
    const t1 = l.accepted();
    expect(l.admit(t1, cfg, 'app', false)).toBeNull();
    expect(l.admit(l.accepted(), cfg, 'app', false)).toBeNull();
    expect(l.admit(l.accepted(), cfg, 'app', false)?.message).toBe('too many connections for role "app"');
    expect(l.admit(l.accepted(), cfg, 'app', true)).toBeNull(); // the admin console is not counted per user
    l.closed(t1);
    expect(l.perUser.get('app')).toBe(1);
    expect(l.admit(l.accepted(), cfg, 'app', false)).toBeNull();
  });
});

interface FakeSession extends JanitorSession {
  phase: number;
  isBusy: boolean;
  deferredBegin: object | null;
  attached: { txStatus: number; ops: { isEmpty: boolean }; socket: { bytesWritten: number } } | null;
  socket: { bytesWritten: number; pause(): void; destroy(): void };
  closedWith: string | null;
}

function fakeSession(): FakeSession {
  const s: FakeSession = {
    phase: 0,
    isAdmin: false,
    isBusy: false,
    held: { length: 0 },
    deferredBegin: null,
    attached: null,
    ident: { user: 'app' },
    socket: { bytesWritten: 0, pause() {}, destroy() {} },
    closedWith: null,
    close(_reason: string, err?: MeridianError) {
      if (s.phase === 2) return;
      s.phase = 2;
      s.closedWith = err?.sqlstate ?? null;
    },
  };
  return s;
}

describe('idle verdicts', () => {
  it('counts idle time from the first look with nothing moved; activity or a busy look resets it', () => {
    const s = fakeSession();
    s.phase = 1;
    const mark: IdleMark = { kind: IdleKind.Busy, activity: -1, sinceMs: 0 };
    expect(checkIdle(s, mark, 0, 1000, 0)).toBe(IdleVerdict.Keep);
    expect(checkIdle(s, mark, 999, 1000, 0)).toBe(IdleVerdict.Keep);
    s.socket.bytesWritten += 10; // Meridian answered a request
    expect(checkIdle(s, mark, 1500, 1000, 0)).toBe(IdleVerdict.Keep);
    expect(checkIdle(s, mark, 2499, 1000, 0)).toBe(IdleVerdict.Keep);
    expect(checkIdle(s, mark, 2500, 1000, 0)).toBe(IdleVerdict.IdleTimeout);
  });

  it('an open transaction (attached, or a BEGIN Meridian answered) is timed by idle_transaction_timeout', () => {
    const s = fakeSession();
    const mark: IdleMark = { kind: IdleKind.Busy, activity: -1, sinceMs: 0 };
    s.deferredBegin = {};
    checkIdle(s, mark, 0, 0, 500);
    expect(checkIdle(s, mark, 500, 0, 500)).toBe(IdleVerdict.TransactionTimeout);
    s.deferredBegin = null;
    s.attached = { txStatus: 0x54, ops: { isEmpty: false }, socket: { bytesWritten: 0 } };
    expect(checkIdle(s, mark, 600, 0, 500)).toBe(IdleVerdict.Keep); // a request runs: busy
    expect(checkIdle(s, mark, 5000, 0, 500)).toBe(IdleVerdict.Keep);
    s.attached.ops.isEmpty = true;
    checkIdle(s, mark, 5000, 0, 500);
    expect(checkIdle(s, mark, 5400, 0, 500)).toBe(IdleVerdict.Keep);
    expect(checkIdle(s, mark, 5500, 0, 500)).toBe(IdleVerdict.TransactionTimeout);
  });
});

describe('ClientJanitor', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('closes a connection not logged in by auth_timeout (08P01), and idle sessions with 25P03 / 57P05', () => {
    const cfg = cfgWith('limits: { auth_timeout: 1s, idle_transaction_timeout: 2s, client_idle_timeout: 3s }\n');
    const closes: string[] = [];
    const j = new ClientJanitor(() => cfg, { closed: (why) => closes.push(why) });
    // The janitor stamps each connection with Date.now(): frozen, so a millisecond passing between
    // t0 and track() cannot move the deadlines by one.
    vi.useFakeTimers({ toFake: ['Date'], now: 1_000_000 });
    const t0 = Date.now();
    const pending = fakeSession();
    const inTx = fakeSession();
    const idle = fakeSession();
    for (const s of [pending, inTx, idle]) j.track(s);
    for (const s of [inTx, idle]) {
      expect(j.admit(s, false)).toBeNull();
      s.phase = 1;
    }
    inTx.attached = { txStatus: 0x54, ops: { isEmpty: true }, socket: { bytesWritten: 5 } };
    j.sweep(t0);
    j.sweep(t0 + 999);
    expect(pending.closedWith).toBeNull();
    j.sweep(t0 + 1000);
    expect(pending.closedWith).toBe('08P01');
    j.sweep(t0 + 2000);
    expect(inTx.closedWith).toBe('25P03');
    expect(idle.closedWith).toBeNull();
    expect(j.idleMs(idle)).toBe(2000);
    j.sweep(t0 + 3000);
    expect(idle.closedWith).toBe('57P05');
    expect(closes).toEqual(['login-timeout', 'idle-transaction-timeout', 'idle-timeout']);
    expect(j.size).toBe(0);
    expect(j.limits.pending).toBe(0);
    expect(j.limits.loggedIn).toBe(0);
  });

  it('ticks at a quarter of the smallest timeout, between 50 ms and 1 s', () => {
    expect(tickFor(cfgWith(''))).toBe(1000);
    expect(tickFor(cfgWith('limits: { auth_timeout: 1s }\n'))).toBe(250);
    expect(tickFor(cfgWith('limits: { idle_transaction_timeout: 100ms }\n'))).toBe(50);
  });
});

/** A socket whose connect the test triggers by hand. */
class FakeSocket extends EventEmitter {
  written: Buffer | null = null;
  isDestroyed = false;
  end(b: Buffer) {
    this.written = b;
    this.emit('close');
  }
  destroy() {
    this.isDestroyed = true;
    this.emit('close');
  }
  setTimeout() {}
}

describe('CancelForwarder', () => {
  const setup = () => {
    const results: CancelResult[] = [];
    const f = new CancelForwarder((r) => results.push(r));
    const sockets: FakeSocket[] = [];
    f.open = () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s as unknown as net.Socket;
    };
    const b = { node: 'n1', serverPid: 7, serverSecret: 9, isClosed: false, owner: null as unknown, ops: { isEmpty: false } };
    const s = { id: 1, attached: b as typeof b | null, requestSeq: 1, cancelledSeq: -1, cancelledAtMs: 0 };
    b.owner = s;
    return { f, results, sockets, b, s };
  };

  it('sends the cancel when the same request still runs on the same backend', () => {
    const { f, results, sockets, b, s } = setup();
    f.forward(s, b, 'h', 1);
    sockets[0]!.emit('connect');
    expect(sockets[0]!.written?.length).toBe(16);
    expect(results).toEqual(['forwarded']);
  });

  it('sends nothing when, by the time the node answers, the backend moved on or the next request runs', () => {
    const { f, results, sockets, b, s } = setup();
    f.forward(s, b, 'h', 1);
    s.attached = null; // released to the pool (and maybe another session's now)
    sockets[0]!.emit('connect');
    s.attached = b;
    f.forward(s, b, 'h', 1);
    s.requestSeq++; // its request ended and the session sent another
    sockets[1]!.emit('connect');
    expect(sockets.map((x) => x.written)).toEqual([null, null]);
    expect(results).toEqual(['stale', 'stale']);
  });

  it('allows one cancel in flight per session and MAX_CANCELS_IN_FLIGHT in all', () => {
    const { f, results, sockets, b, s } = setup();
    f.forward(s, b, 'h', 1);
    f.forward(s, b, 'h', 1);
    expect(results).toEqual(['session-limited']);
    for (let i = 2; i <= MAX_CANCELS_IN_FLIGHT + 1; i++) f.forward({ ...s, id: i }, b, 'h', 1);
    expect(sockets.length).toBe(MAX_CANCELS_IN_FLIGHT);
    expect(results.at(-1)).toBe('limited');
    sockets[0]!.emit('connect'); // done: its slot is free again
    s.requestSeq++; // for the next request (the same one again would be a burst, below)
    f.forward(s, b, 'h', 1);
    expect(sockets.length).toBe(MAX_CANCELS_IN_FLIGHT + 1);
  });

  it('forwards a burst of cancels for one request once; the same request again after CANCEL_REPEAT_MS', () => {
    const { f, results, sockets, b, s } = setup();
    f.forward(s, b, 'h', 1);
    sockets[0]!.emit('connect');
    for (let i = 0; i < 20; i++) f.forward(s, b, 'h', 1);
    expect(sockets.length).toBe(1);
    expect(results.filter((r) => r === 'forwarded')).toHaveLength(1);
    s.cancelledAtMs -= CANCEL_REPEAT_MS; // a second later: the client cancels again (the first may have been lost)
    f.forward(s, b, 'h', 1);
    expect(sockets.length).toBe(2);
  });
});
