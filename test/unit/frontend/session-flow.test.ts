// Reading from the client stops for three separate reasons — the attached backend's socket is
// full, frames held behind a busy request are over their bound, the client does not read
// Meridian's own replies — and resumes only when none holds (issue 16, bug 5: the reasons shared
// one flag, so the end of one resumed a client another still held). A whole Session driven with
// fake sockets and a real Backend; one request followed from frame in to ReadyForQuery out.

import { beforeAll, describe, expect, it } from 'vitest';
import { serialize } from 'pg-protocol';
import type { Classifier } from '../../../src/classify/classifier.js';
import { ClientFlow, PauseReason } from '../../../src/frontend/client-flow.js';
import { Session } from '../../../src/frontend/session.js';
import { SessionState } from '../../../src/frontend/session-state.js';
import { testClassifier } from '../classify/case-helpers.js';
import { codesOf, fakeBackend, fakeProxy, FakeSocket, S } from './fakes.js';

let classifier: Classifier;
beforeAll(async () => {
  classifier = await testClassifier();
});

function setup() {
  const proxy = fakeProxy((sql) => classifier.classify(sql));
  const client = new FakeSocket();
  const s = new Session(1, 1, client as never, proxy.ctx);
  s.state = new SessionState(1, new Map(), null);
  s.beginRequests(client as never);
  const replica = fakeBackend('r');
  const master = fakeBackend('m');
  proxy.next.set('r', replica.b);
  proxy.next.set('m', master.b);
  return { proxy, client, s, replica, master };
}

/** A read that ends with Flush: its backend stays attached (no ReadyForQuery releases it). */
const READ_UNTIL_FLUSH = Buffer.concat([serialize.parse({ text: 'select 1' }), serialize.describe({ type: 'S' }), serialize.flush()]);

describe('a session request, frame in to ReadyForQuery out', () => {
  it('routes, attaches, relays, and releases the backend at ReadyForQuery', () => {
    const { client, s, replica, proxy } = setup();
    s.onClientData(serialize.query('select 1'));
    expect(s.attached).toBe(replica.b);
    expect(codesOf(replica.socket.take())).toBe('Q');
    replica.serverSends(S.rowDescription(), S.dataRow('1'), S.complete('SELECT 1'), S.ready('I'));
    expect(codesOf(client.take())).toBe('TDCZ');
    expect(s.attached).toBeNull();
    expect(proxy.released).toEqual([replica.b]);
  });
});

describe('pipelined requests', () => {
  it('a write pipelined behind a write on the master notes the write mark at its own ReadyForQuery', () => {
    const proxy = fakeProxy((sql) => classifier.classify(sql), {
      routing: { writeWaitMs: 0, retryReads: true, retryRefusedWrites: true, readYourWrites: true, deferBegin: false, maxReadLagMs: 5000 },
    });
    const client = new FakeSocket();
    const s = new Session(1, 1, client as never, proxy.ctx);
    s.state = new SessionState(1, new Map(), null);
    s.beginRequests(client as never);
    const master = fakeBackend('m');
    proxy.next.set('m', master.b);
    s.onClientData(Buffer.concat([serialize.query('insert into accounts (id) values (1)'), serialize.query('insert into accounts (id) values (2)')]));
    expect(codesOf(master.socket.take())).toBe('QQ'); // the second shares the master's backend
    const markedOn = (): string | undefined => s.writeMark?.node;
    master.serverSends(S.complete('INSERT 0 1'), S.ready('I'));
    expect(markedOn()).toBe('m');
    s.writeMark = null;
    master.serverSends(S.complete('INSERT 0 1'), S.ready('I'));
    expect(markedOn()).toBe('m');
    expect(s.attached).toBeNull();
  });
});

describe('client flow control: each pause reason holds on its own', () => {
  it('a backend drain does not resume a client whose held frames are over the bound', () => {
    const { client, s, replica, master } = setup();
    s.onClientData(READ_UNTIL_FLUSH);
    expect(s.attached).toBe(replica.b);
    replica.socket.accepts = false; // the replica's socket is full from now on
    // Writes cannot share the replica: they are held, Meridian syncs the replica to release it,
    // and that write finds the replica's socket full.
    const big = 'x'.repeat(60_000);
    const writes: Buffer[] = [];
    for (let i = 0; i < 24; i++) writes.push(serialize.query(`insert into accounts (id, region) values (${i}, '${big}')`));
    s.onClientData(Buffer.concat(writes));
    expect(s.held.bytes).toBeGreaterThan(1024 * 1024);
    expect(client.paused).toBe(true);
    replica.socket.accepts = true;
    replica.socket.emit('drain');
    // The backend took its bytes, but over a megabyte still waits in Meridian: keep the client paused.
    expect(client.paused).toBe(true);
    // The replica answers and is released; the held writes go to the master; the client resumes.
    replica.serverSends(S.parseComplete(), S.noData(), S.ready('I'));
    expect(s.held.length).toBe(0);
    expect(client.paused).toBe(false);
    expect(codesOf(master.socket.take())).toBe('Q'.repeat(24));
  });

  it("the client draining its backlog does not resume it while the backend's socket is full", () => {
    const { client, s, replica } = setup();
    s.onClientData(READ_UNTIL_FLUSH);
    replica.socket.accepts = false;
    s.onClientData(serialize.query('select 2')); // a read shares the replica; its socket is full
    expect(client.paused).toBe(true);
    client.writableLength = 2 * 1024 * 1024; // and the client does not read Meridian's replies
    s.onClientData(Buffer.alloc(0));
    client.writableLength = 0;
    client.emit('drain'); // the backlog is gone; the replica's socket is still full
    expect(client.paused).toBe(true);
    replica.socket.accepts = true;
    replica.socket.emit('drain');
    expect(client.paused).toBe(false);
  });
});

describe('ClientFlow', () => {
  it('resumes only when no reason holds, whatever the order they end in', () => {
    const client = new FakeSocket();
    const backend = new FakeSocket();
    const flow = new ClientFlow(client);
    flow.waitForDrain(backend);
    flow.waitForDrain(backend); // one listener, however often the backend is found full
    expect(backend.listenerCount('drain')).toBe(1);
    flow.hold(PauseReason.HeldFull);
    flow.hold(PauseReason.ClientBacklog);
    expect(client.paused).toBe(true);
    flow.release(PauseReason.HeldFull);
    backend.emit('drain');
    expect(client.paused).toBe(true);
    flow.release(PauseReason.ClientBacklog);
    expect(client.paused).toBe(false);
    expect(client.pauses).toBe(1);
  });

  it('forgetting the backend (released or lost) ends its hold and its listener', () => {
    const client = new FakeSocket();
    const backend = new FakeSocket();
    const other = new FakeSocket();
    const flow = new ClientFlow(client);
    flow.waitForDrain(backend);
    flow.forgetBackend(other); // not the one waited for: nothing changes
    expect(client.paused).toBe(true);
    flow.forgetBackend(backend);
    expect(client.paused).toBe(false);
    expect(backend.listenerCount('drain')).toBe(0);
  });
});
