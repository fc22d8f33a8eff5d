// OpQueue: the ring of ops one backend owes answers for — growth, wrap-around, sync points,
// typed payloads per kind, internal callbacks and clear.

import { describe, expect, it } from 'vitest';
import { Op, OpMode, OpQueue } from '../../../src/backend/op-queue.js';
import type { Classification } from '../../../src/classify/types.js';

const cls = { reason: 'select', isWrite: false } as unknown as Classification;

describe('OpQueue', () => {
  it('is FIFO and reports 0 as the head kind when empty', () => {
    const q = new OpQueue(4);
    expect(q.isEmpty).toBe(true);
    expect(q.headKind()).toBe(0);
    q.pushPlain(Op.Sync, OpMode.Forward);
    q.pushQuery(cls);
    expect(q.size).toBe(2);
    expect(q.headKind()).toBe(Op.Sync);
    q.shift();
    expect(q.headKind()).toBe(Op.Query);
    expect(q.headCls()).toBe(cls);
    q.shift();
    expect(q.isEmpty).toBe(true);
    q.shift(); // shifting an empty queue is harmless
    expect(q.size).toBe(0);
  });

  it('grows past its capacity keeping order and payloads, also when wrapped around', () => {
    const q = new OpQueue(4);
    // Wrap the ring: head moves to slot 3 before it fills.
    for (let i = 0; i < 3; i++) q.pushPlain(Op.Close, OpMode.Forward);
    for (let i = 0; i < 3; i++) q.shift();
    for (let i = 0; i < 20; i++) q.pushStatementOp(Op.Bind, OpMode.Forward, `s${i}`);
    expect(q.size).toBe(20);
    for (let i = 0; i < 20; i++) {
      expect(q.headKind()).toBe(Op.Bind);
      expect(q.headStatement()).toBe(`s${i}`);
      q.shift();
    }
    expect(q.isEmpty).toBe(true);
  });

  it('counts the ops that end with a ReadyForQuery, and the internal ones', () => {
    const q = new OpQueue(2);
    q.pushPlain(Op.Parse, OpMode.Forward);
    q.pushPlain(Op.Bind, OpMode.Forward);
    q.pushExecute(null);
    q.pushPlain(Op.Sync, OpMode.Forward);
    q.pushQuery(null);
    q.pushPlain(Op.FunctionCall, OpMode.Forward);
    q.pushInternal(() => {});
    expect(q.countSyncPoints()).toBe(4);
    expect(q.countInternal()).toBe(1);
    q.shift();
    q.shift();
    q.shift();
    q.shift(); // the Sync
    expect(q.countSyncPoints()).toBe(3);
  });

  it('gives each kind its own payload and nothing else', () => {
    const q = new OpQueue();
    const frame = Buffer.from([0x31, 0, 0, 0, 4]);
    q.pushSynth(Op.Parse, frame);
    expect(q.headMode()).toBe(OpMode.Synth);
    expect(q.headFrame()).toBe(frame);
    expect(q.headStatement()).toBeNull(); // a synthesized Parse names no statement to forget
    q.shift();
    q.pushStatementOp(Op.Parse, OpMode.Swallow, 'meridian_1');
    expect(q.headMode()).toBe(OpMode.Swallow);
    expect(q.headStatement()).toBe('meridian_1');
    expect(q.headFrame()).toBeNull();
    expect(q.headCls()).toBeNull();
    expect(q.headInternal()).toBeNull();
    q.shift();
    q.pushExecute(cls);
    expect(q.headCls()).toBe(cls);
    expect(q.headStatement()).toBeNull();
  });

  it('runs internal callbacks in order with what the caller passes', () => {
    const q = new OpQueue(2);
    const seen: (string | null)[] = [];
    q.pushInternal((err) => seen.push(`a:${err}`));
    q.pushQuery(null);
    q.pushInternal((err) => seen.push(`b:${err}`));
    q.headInternal()!(null);
    q.shift();
    expect(q.headInternal()).toBeNull();
    q.shift();
    q.headInternal()!('boom');
    expect(seen).toEqual(['a:null', 'b:boom']);
  });

  it('clear drops every op and releases their payloads', () => {
    const q = new OpQueue(4);
    q.pushPlain(Op.Close, OpMode.Forward);
    q.shift(); // head not at slot 0
    q.pushInternal(() => {});
    q.pushSynth(Op.Close, Buffer.alloc(5));
    q.pushStatementOp(Op.Describe, OpMode.Forward, 'x');
    q.clear();
    expect(q.isEmpty).toBe(true);
    expect(q.headKind()).toBe(0);
    expect(q.headInternal()).toBeNull();
    expect(q.headFrame()).toBeNull();
    // A slot reused after clear carries only what its new op sets.
    q.pushPlain(Op.Sync, OpMode.Forward);
    expect(q.headInternal()).toBeNull();
    expect(q.headFrame()).toBeNull();
    expect(q.headStatement()).toBeNull();
    expect(q.countSyncPoints()).toBe(1);
    expect(q.countInternal()).toBe(0);
  });
});
