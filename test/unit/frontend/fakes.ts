// Fakes for driving the request path without sockets or servers: a socket that records what is
// written and whether it is paused, a real Backend over such a socket (server frames are fed to
// it as bytes), server frame builders, and a ProxyContext with one pool per node.

import { EventEmitter } from 'node:events';
import pino from 'pino';
import { Backend } from '../../../src/backend/backend.js';
import type { Classification } from '../../../src/classify/types.js';
import type { MeridianConfig } from '../../../src/config/types.js';
import type { RouteDecision } from '../../../src/router/types.js';
import type { TopologySnapshot } from '../../../src/topology/types.js';
import { buildSnapshot } from '../../../src/topology/snapshot.js';
import type { ProxyContext } from '../../../src/frontend/context.js';
import type { SessionMetrics } from '../../../src/frontend/types.js';
import { node as nodeSnap } from '../router/fixtures.js';
import { NO_TRACING } from '../../../src/tracing/request-trace.js';

export class FakeSocket extends EventEmitter {
  readonly written: Buffer[] = [];
  /** What write() returns: false simulates a full socket (the caller must wait for 'drain'). */
  accepts = true;
  writableLength = 0;
  destroyed = false;
  paused = false;
  pauses = 0;
  remoteAddress = '127.0.0.1';
  bytesWritten = 0;
  write(buf: Buffer): boolean {
    this.written.push(Buffer.from(buf));
    this.bytesWritten += buf.length;
    return this.accepts;
  }
  cork(): void {}
  uncork(): void {}
  pause(): this {
    if (!this.paused) this.pauses++;
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  isPaused(): boolean {
    return this.paused;
  }
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
  setNoDelay(): void {}
  /** Everything written so far, as one buffer, then forgotten. */
  take(): Buffer {
    const all = Buffer.concat(this.written);
    this.written.length = 0;
    return all;
  }
}

/** Message type letters of a stream of protocol frames. */
export function codesOf(bytes: Buffer): string {
  let s = '';
  for (let pos = 0; pos + 5 <= bytes.length; pos += 1 + bytes.readInt32BE(pos + 1)) s += String.fromCharCode(bytes[pos]!);
  return s;
}

export interface FakeBackend {
  readonly b: Backend;
  readonly socket: FakeSocket;
  /** Feeds server bytes to the backend, as one socket read. */
  serverSends(...frames: Buffer[]): void;
}

export function fakeBackend(node: string): FakeBackend {
  const socket = new FakeSocket();
  let onData: ((chunk: Buffer) => void) | null = null;
  const input = {
    set: (fn: (chunk: Buffer) => void) => {
      onData = fn;
    },
  };
  const conn = { socket, input, pid: 4242, secret: 1, params: new Map<string, string>(), leftover: null };
  const b = new Backend(node, 'app', 'app', conn as never, 0);
  return { b, socket, serverSends: (...frames) => onData!(Buffer.concat(frames)) };
}

// ---- server frames ----

function frame(code: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = code.charCodeAt(0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstr = (s: string): Buffer => Buffer.from(`${s}\0`);

export const S = {
  ready: (status: 'I' | 'T' | 'E' = 'I') => frame('Z', Buffer.from(status)),
  complete: (tag: string) => frame('C', cstr(tag)),
  rowDescription: () => frame('T', Buffer.from([0, 0])),
  dataRow: (text: string) => {
    const v = Buffer.from(text);
    const body = Buffer.alloc(2 + 4 + v.length);
    body.writeInt16BE(1, 0);
    body.writeInt32BE(v.length, 2);
    v.copy(body, 6);
    return frame('D', body);
  },
  parseComplete: () => frame('1', Buffer.alloc(0)),
  bindComplete: () => frame('2', Buffer.alloc(0)),
  noData: () => frame('n', Buffer.alloc(0)),
  error: (code: string, message: string, severity = 'ERROR') =>
    frame(
      'E',
      Buffer.concat([
        Buffer.from('S'),
        cstr(severity),
        Buffer.from('V'),
        cstr(severity),
        Buffer.from('C'),
        cstr(code),
        Buffer.from('M'),
        cstr(message),
        Buffer.from([0]),
      ]),
    ),
};

// ---- the proxy ----

export interface FakeProxy {
  readonly ctx: ProxyContext;
  /** The next backend each node's pool hands out (tryAcquire), and the ones released. */
  readonly next: Map<string, Backend>;
  readonly released: Backend[];
  snapshot: TopologySnapshot;
  decide: (intent: 'read' | 'write') => RouteDecision;
}

export function fakeProxy(classify: (sql: string) => Classification, cfgOver: Record<string, unknown> = {}): FakeProxy {
  const cfg = {
    limits: { maxFrameBytes: 64 * 1024 * 1024, maxRequestBytes: 64 * 1024 * 1024, maxPreparedStatements: 10_000, maxSessionSettings: 1000 },
    routing: { writeWaitMs: 0, retryReads: true, retryRefusedWrites: true, readYourWrites: false, deferBegin: false, maxReadLagMs: 5000 },
    pool: { queueTimeoutMs: 1000, preparedStatementsPerBackend: 100, sessionReuse: true, mode: 'transaction' },
    cluster: { kind: 'physical', nodes: [] },
    ...cfgOver,
  } as unknown as MeridianConfig;
  const next = new Map<string, Backend>();
  const released: Backend[] = [];
  const metrics: SessionMetrics = {
    routed() {},
    requestDone() {},
    error() {},
    poolWait() {},
    retried() {},
    routedAgain() {},
    txReplay() {},
    residencyRefused() {},
    sessionCrash() {},
    residencyDenied() {},
  };
  const proxy: FakeProxy = {
    next,
    released,
    snapshot: buildSnapshot([nodeSnap('m'), nodeSnap('r', { role: 'replica' })], 1, 0),
    decide: (intent) => ({ ok: true, node: intent === 'write' ? 'm' : 'r', reason: 'fake' }),
    ctx: undefined as unknown as ProxyContext,
  };
  const pool = (node: string) => ({
    isRemoved: false,
    tryAcquire: () => {
      const b = next.get(node) ?? null;
      if (b !== null) b.pool = { release: (x: Backend) => released.push(x) };
      return b;
    },
    acquire: () => {},
    release: (x: Backend) => released.push(x),
  });
  const ctx = {
    cfg: () => cfg,
    logger: pino({ level: 'silent' }),
    pools: { nowMs: 0, pool } as unknown as ProxyContext['pools'],
    health: {
      get snapshot() {
        return proxy.snapshot;
      },
      waitForChange: () => Promise.resolve(null),
    },
    classify,
    snapshot: () => proxy.snapshot,
    route: (intent: 'read' | 'write') => proxy.decide(intent),
    reportNodeFailure() {},
    recheckNode: () => Promise.resolve(),
    onCatalogChanged() {},
    serverParamsFor: () => Promise.resolve(new Map()),
    adminQuery: () => Promise.resolve({ frames: Buffer.alloc(0) }),
    isShuttingDown: () => false,
    tracer: NO_TRACING,
    admitLogin: () => null,
    registerSession() {},
    unregisterSession() {},
    cancels: { note() {}, forward() {} },
    findSessionForCancel: () => null,
    metrics,
  };
  (proxy as { ctx: ProxyContext }).ctx = ctx as unknown as ProxyContext;
  return proxy;
}
