import { describe, expect, it } from 'vitest';
import { heartbeatLag, NO_WRITER, recordHeartbeatWrite, type HeartbeatPeer, type HeartbeatWriter } from '../../../src/health/heartbeat-lag.js';
import { raw } from './fake-health.js';

const I = 1000; // interval

/** A peer Meridian has written to every second since `since`, last at `last`. */
function writer(since: number, last: number): HeartbeatWriter {
  let w = NO_WRITER;
  for (let t = since; t <= last; t += I) w = recordHeartbeatWrite(w, t, t + 2);
  return w;
}
const peer = (name: string, w: HeartbeatWriter, over: Partial<HeartbeatPeer> = {}): HeartbeatPeer => ({
  name,
  isUp: true,
  role: 'master',
  writer: w,
  hasProbed: true,
  ...over,
});
const seen = (rows: Record<string, number>, at: number) => raw({ sentAtMs: at, receivedAtMs: at, heartbeat: new Map(Object.entries(rows)) });

describe('heartbeat lag', () => {
  it('is 0 when the node sees the newest row written before its probe', () => {
    expect(heartbeatLag('x', seen({ p: 10_000 }, 10_500), [peer('p', writer(0, 10_000))], I, true)).toBe(0);
  });

  it('is now − oldest peer row − one interval when a peer row is behind', () => {
    // p written up to 10 000; x still sees 6 000 at 10 500 → 10 500 − 6 000 − 1 000
    expect(heartbeatLag('x', seen({ p: 6_000 }, 10_500), [peer('p', writer(0, 10_000))], I, true)).toBe(3_500);
  });

  it('takes the worst peer and never goes negative', () => {
    const peers = [peer('p', writer(0, 10_000)), peer('q', writer(0, 10_000))];
    expect(heartbeatLag('x', seen({ p: 10_000, q: 8_000 }, 10_500), peers, I, true)).toBe(1_500);
    expect(heartbeatLag('x', seen({ p: 9_000 }, 9_600), [peer('p', writer(0, 10_000))], I, true)).toBe(0);
  });

  it('ignores its own row, down peers and peers Meridian does not write (replicas)', () => {
    const peers = [peer('x', writer(0, 10_000)), peer('down', writer(0, 10_000), { isUp: false }), peer('replica', NO_WRITER, { role: 'replica' })];
    expect(heartbeatLag('x', seen({ x: 1, down: 1 }, 10_500), peers, I, true)).toBe(0);
  });

  it('is unknown without the table, and at start-up until every peer was probed and its rows seen', () => {
    const p = peer('p', writer(0, 10_000));
    expect(heartbeatLag('x', raw({ heartbeat: null }), [p], I, true)).toBeNull();
    expect(heartbeatLag('x', seen({}, 10_500), [peer('p', NO_WRITER, { hasProbed: false, isUp: false })], I, false)).toBeNull();
    expect(heartbeatLag('x', seen({}, 10_500), [p], I, false)).toBeNull(); // row never seen
    expect(heartbeatLag('x', seen({}, 500), [peer('p', writer(0, 0))], I, false)).toBeNull(); // in grace, unverified
    // a master whose first probe only found its role: not written yet, its rows are still to come
    expect(heartbeatLag('x', seen({}, 500), [peer('p', NO_WRITER)], I, false)).toBeNull();
    expect(heartbeatLag('x', seen({}, 500), [peer('p', NO_WRITER)], I, true)).toBe(0); // a known node keeps its lag meanwhile
  });

  it('a peer that just came back is not held against a node whose lag was known (grace)', () => {
    const back = peer('p', writer(60_000, 60_000)); // writes resumed at 60 s after a long outage
    expect(heartbeatLag('x', seen({ p: 10_000 }, 60_500), [back], I, true)).toBe(0);
    // after the grace, a node that still has not seen the new rows is honestly stale
    expect(heartbeatLag('x', seen({ p: 10_000 }, 63_000), [peer('p', writer(60_000, 62_000))], I, true)).toBe(52_000);
  });

  it('a failed write ends the streak', () => {
    expect(recordHeartbeatWrite(writer(0, 5_000), null, 6_000)).toBe(NO_WRITER);
  });
});
