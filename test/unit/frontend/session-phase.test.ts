// The session's states and legal moves (session-phase.ts), and what an illegal move does to a
// live session: logged, the session closed with XX000, nothing thrown into the caller.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import type { Classifier } from '../../../src/classify/classifier.js';
import { Session } from '../../../src/frontend/session.js';
import { SessionState } from '../../../src/frontend/session-state.js';
import { attached, CLOSED, IDLE, isLegalMove, skipUntilSync, STARTUP, waiting, waitingOn, type SessionPhase } from '../../../src/frontend/session-phase.js';
import { testClassifier } from '../classify/case-helpers.js';
import { codesOf, fakeProxy, FakeSocket } from './fakes.js';

const b1 = { node: 'a' } as Backend;
const b2 = { node: 'b' } as Backend;

describe('isLegalMove', () => {
  const legal: [SessionPhase, SessionPhase][] = [
    [STARTUP, IDLE],
    [STARTUP, CLOSED],
    [IDLE, waiting('route')],
    [IDLE, waiting('pool')],
    [IDLE, waitingOn('sync', b1)],
    [IDLE, attached(b1)],
    [IDLE, skipUntilSync(null)],
    [IDLE, waiting('admin')],
    [waiting('route'), waiting('pool')],
    [waiting('pool'), waitingOn('sync', b1)],
    [waitingOn('sync', b1), waitingOn('begin', b1)],
    [waitingOn('begin', b1), attached(b1)],
    [waitingOn('sync', b1), IDLE],
    [waiting('pool'), waiting('route')],
    [attached(b1), IDLE],
    [attached(b1), waiting('recheck')],
    [attached(b1), skipUntilSync(b1)],
    [waiting('recheck'), IDLE],
    [skipUntilSync(null), IDLE],
    [skipUntilSync(b1), attached(b1)],
    [waiting('admin'), IDLE],
    [attached(b1), CLOSED],
    [waiting('pool'), CLOSED],
  ];
  const illegal: [SessionPhase, SessionPhase][] = [
    [CLOSED, IDLE],
    [CLOSED, CLOSED],
    [IDLE, STARTUP],
    [STARTUP, attached(b1)],
    [STARTUP, waiting('route')],
    [attached(b1), attached(b2)],
    [attached(b1), waiting('admin')],
    [waiting('admin'), attached(b1)],
    [waiting('admin'), waiting('route')],
    [waitingOn('sync', b1), waitingOn('begin', b2)],
    [skipUntilSync(null), waiting('route')],
    [skipUntilSync(b1), attached(b2)],
    [IDLE, { kind: 'waiting', for: 'sync', backend: null }],
    [IDLE, { kind: 'waiting', for: 'pool', backend: b1 }],
  ];
  it.each(legal.map(([a, b]) => [`${a.kind}${a.for ? `{${a.for}}` : ''} → ${b.kind}${b.for ? `{${b.for}}` : ''}`, a, b]))('legal: %s', (_n, a, b) => {
    expect(isLegalMove(a as SessionPhase, b as SessionPhase)).toBe(true);
  });
  it.each(illegal.map(([a, b]) => [`${a.kind}${a.for ? `{${a.for}}` : ''} → ${b.kind}${b.for ? `{${b.for}}` : ''}`, a, b]))('illegal: %s', (_n, a, b) => {
    expect(isLegalMove(a as SessionPhase, b as SessionPhase)).toBe(false);
  });
});

describe('an illegal move on a live session', () => {
  let classifier: Classifier;
  beforeAll(async () => {
    classifier = await testClassifier();
  });

  it('closes the session with XX000 and throws nothing', () => {
    const proxy = fakeProxy((sql) => classifier.classify(sql));
    const client = new FakeSocket();
    const s = new Session(1, 1, client as never, proxy.ctx);
    s.state = new SessionState(1, new Map(), null);
    s.beginRequests(client as never);
    client.take();
    const moveTo = (s as unknown as { moveTo(p: SessionPhase): boolean }).moveTo.bind(s);
    expect(moveTo(waiting('admin'))).toBe(true);
    expect(() => moveTo(attached(b1))).not.toThrow(); // waiting{admin} → attached: never planned
    expect(s.phase).toBe(2); // closed
    const out = client.take();
    expect(codesOf(out)).toBe('E');
    expect(out.includes(Buffer.from('XX000'))).toBe(true);
    expect(moveTo(IDLE)).toBe(false); // a closed session ignores later moves
  });
});
