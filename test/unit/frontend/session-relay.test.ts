// The relay driven through its narrow interface (RelayHost) against a real Backend over a fake
// socket: client frames in, what reaches the server; server frames in, what reaches the client.
// Forwarding, Meridian's swallowed internal queries, synthesized replies in order, ReadyForQuery
// ending the request, an error mid-request, a refusal held back for a retry, and the router's
// share check (a split-brain loser never takes a pipelined write).

import { beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { serialize } from 'pg-protocol';
import { SpanWriter } from '../../../src/backend/span-writer.js';
import type { Backend } from '../../../src/backend/backend.js';
import type { Classifier } from '../../../src/classify/classifier.js';
import { Request } from '../../../src/frontend/request.js';
import { acceptsOnAttached, forwardClientFrame, handleServerFrame } from '../../../src/frontend/session-relay.js';
import { SessionState } from '../../../src/frontend/session-state.js';
import type { RelayHost } from '../../../src/frontend/types.js';
import { buildSnapshot } from '../../../src/topology/snapshot.js';
import { testClassifier } from '../classify/case-helpers.js';
import { node } from '../router/fixtures.js';
import { codesOf, fakeBackend, fakeProxy, FakeSocket, S, type FakeBackend } from './fakes.js';

let classifier: Classifier;
beforeAll(async () => {
  classifier = await testClassifier();
});

interface Rig {
  h: RelayHost;
  fb: FakeBackend;
  client: FakeSocket;
  events: string[];
  /** Client frame in (one serialized message), flushed to the backend. */
  send(...frames: Buffer[]): void;
  proxy: ReturnType<typeof fakeProxy>;
}

function rig(nodeName = 'm'): Rig {
  const proxy = fakeProxy((sql) => classifier.classify(sql));
  const client = new FakeSocket();
  const out = new SpanWriter();
  out.socket = client as never;
  const events: string[] = [];
  const h: RelayHost = {
    ctx: proxy.ctx,
    log: pino({ level: 'silent' }),
    out,
    state: new SessionState(1, new Map(), null),
    req: new Request(),
    portalCls: null,
    allowedRegions: null,
    endRequest: (_b, status) => events.push(`end:${String.fromCharCode(status)}`),
    retryRefused: (_b, isRead) => events.push(`retry:${isRead ? 'read' : 'write'}`),
    detachIfIdle: () => events.push('detach'),
    waitBackendDrain: () => events.push('drain-wait'),
    requestPump: () => events.push('pump'),
    writeAcknowledged: () => events.push('write-ack'),
  };
  const fb = fakeBackend(nodeName);
  fb.b.owner = {
    onServerFrame: (b: Backend, code, buf, start, end) => handleServerFrame(h, b, code, buf, start, end),
    onServerChunkEnd: () => void out.flush(),
    onServerLost: (_b, reason) => events.push(`lost:${reason}`),
  };
  const send = (...frames: Buffer[]) => {
    for (const f of frames) forwardClientFrame(h, fb.b, f[0]!, f, 0, f.length);
    fb.b.flush();
  };
  return { h, fb, client, events, send, proxy };
}

describe('session relay against a fake backend', () => {
  it('forwards a Query byte for byte and its answer; ReadyForQuery ends the request', () => {
    const r = rig();
    const q = serialize.query('select 1');
    r.send(q);
    expect(r.fb.socket.take().equals(q)).toBe(true);
    expect(r.fb.b.ops.size).toBe(1);
    r.fb.serverSends(S.rowDescription(), S.dataRow('1'), S.complete('SELECT 1'), S.ready('I'));
    expect(codesOf(r.client.take())).toBe('TDCZ');
    expect(r.events).toEqual(['end:I']);
    expect(r.fb.b.ops.isEmpty).toBe(true);
    expect(r.h.req.responseStarted).toBe(true);
  });

  it("swallows Meridian's internal query (its callback gets the outcome) and relays the client's", () => {
    const r = rig();
    const seen: (string | null)[] = [];
    r.fb.b.ops.pushInternal((err) => seen.push(err));
    r.fb.b.out.frame(serialize.query('SET search_path = app'));
    r.fb.b.ops.pushInternal((err) => seen.push(err));
    r.fb.b.out.frame(serialize.query('SET work_mem = nonsense'));
    r.send(serialize.query('select 1'));
    expect(codesOf(r.fb.socket.take())).toBe('QQQ');
    r.fb.serverSends(S.complete('SET'), S.ready('I'));
    r.fb.serverSends(S.error('22023', 'invalid value for parameter "work_mem"'), S.ready('I'));
    expect(seen).toEqual([null, 'invalid value for parameter "work_mem"']);
    expect(r.client.take().length).toBe(0); // nothing of Meridian's own queries reached the client
    expect(r.events).toEqual([]);
    r.fb.serverSends(S.rowDescription(), S.dataRow('1'), S.complete('SELECT 1'), S.ready('I'));
    expect(codesOf(r.client.take())).toBe('TDCZ');
    expect(r.events).toEqual(['end:I']);
  });

  it("synthesizes replies in order with the server's: a statement prepared once per backend, Close answered by Meridian", () => {
    const r = rig();
    r.send(serialize.parse({ name: 's1', text: 'select 1' }), serialize.close({ type: 'S', name: 's1' }), serialize.sync());
    // The server sees the statement under Meridian's global name, and no Close for it.
    const toServer = r.fb.socket.take();
    expect(codesOf(toServer)).toBe('PS');
    expect(toServer.includes(Buffer.from('s1\0'))).toBe(false);
    r.fb.serverSends(S.parseComplete());
    // Meridian's own Parse was swallowed; the client's ParseComplete and CloseComplete follow in order.
    expect(codesOf(r.client.take())).toBe('13');
    r.fb.serverSends(S.ready('I'));
    expect(codesOf(r.client.take())).toBe('Z');
    // Prepared again on the same backend: answered by Meridian alone, at once (nothing ahead of it).
    r.send(serialize.parse({ name: 's1', text: 'select 1' }));
    r.h.out.flush();
    expect(r.fb.socket.take().length).toBe(0);
    expect(codesOf(r.client.take())).toBe('1');
  });

  it('an error mid-request skips to Sync: the client gets the error and one ReadyForQuery', () => {
    const r = rig();
    r.send(
      serialize.parse({ text: 'select $1::int' }),
      serialize.bind({ values: ['x'] }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
      serialize.sync(),
    );
    expect(r.fb.b.ops.size).toBe(5);
    r.fb.serverSends(S.parseComplete(), S.error('22P02', 'invalid input syntax for type integer: "x"'));
    expect(r.fb.b.ops.size).toBe(1); // Describe and Execute skipped, as the server skips them
    r.fb.serverSends(S.ready('I'));
    expect(codesOf(r.client.take())).toBe('1EZ');
    expect(r.h.req.isFailed).toBe(true);
    expect(r.events).toEqual(['end:I']);
    expect(r.fb.b.ops.isEmpty).toBe(true);
  });

  it("a transaction's ReadyForQuery reports its status to the session", () => {
    const r = rig();
    r.send(serialize.query('begin'));
    r.fb.serverSends(S.complete('BEGIN'), S.ready('T'));
    expect(r.events).toEqual(['end:T']);
    expect(r.fb.b.txStatus).toBe(0x54);
  });

  it('a write refused as read-only, kept whole and unanswered, is held back and retried', () => {
    const r = rig();
    const q = serialize.query('insert into accounts (id) values (1)');
    r.h.req.intent = 'write';
    r.h.req.isRetryableWrite = true;
    r.h.req.sent.push(q[0]!, q, 0, q.length);
    r.send(q);
    r.fb.serverSends(S.error('25006', 'cannot execute INSERT in a read-only transaction'), S.ready('I'));
    expect(r.client.take().length).toBe(0);
    expect(r.events).toEqual(['retry:write']);
  });

  it('the share check asks the router: a pipelined write never shares a backend on a split-brain loser', () => {
    const r = rig('m');
    const w = serialize.query('insert into accounts (id) values (1)');
    expect(acceptsOnAttached(r.h, r.fb.b, w[0]!, w, 0, w.length)).toBe(true);
    expect(r.h.req.pendingCls?.isWrite).toBe(true);
    r.proxy.snapshot = buildSnapshot([node('m', { isSplitBrain: true }), node('m2')], 2, 0);
    expect(acceptsOnAttached(r.h, r.fb.b, w[0]!, w, 0, w.length)).toBe(false);
    const rd = serialize.query('/* meridian: route=replica */ select 1');
    r.proxy.snapshot = buildSnapshot([node('m', { state: 'draining' }), node('r', { role: 'replica' })], 3, 0);
    expect(acceptsOnAttached(r.h, r.fb.b, rd[0]!, rd, 0, rd.length)).toBe(false);
  });
});
