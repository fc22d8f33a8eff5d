// The pure parts of the fleet's operations: which drains an instance must apply (state merge),
// and whether every live instance acknowledged an operation (ack bookkeeping).
import { describe, expect, it } from 'vitest';
import { ackProgress, combineDrainAcks } from '../../../src/etcd-fleet/ack-progress.js';
import { drainedNodes, planDrains, type DrainEntry } from '../../../src/etcd-fleet/drain-plan.js';
import type { AckRecord } from '../../../src/etcd-fleet/records.js';

const drain = (node: string, rev: number): DrainEntry => ({ node, rev, record: { op: 'drain', by: 'a', atMs: 1, timeoutMs: null } });
const undrain = (node: string, rev: number): DrainEntry => ({ node, rev, record: { op: 'undrain', by: 'a', atMs: 1, timeoutMs: null } });

describe('planDrains (state merge)', () => {
  it('a new instance applies every node operation, oldest first', () => {
    const plan = planDrains([drain('n2', 9), undrain('n1', 4), drain('n3', 7)], new Map());
    expect(plan.map((a) => `${a.node}@${a.rev}`)).toEqual(['n1@4', 'n3@7', 'n2@9']);
  });
  it('only operations newer than the one applied per node; none twice', () => {
    const applied = new Map([
      ['n1', 4],
      ['n2', 9],
    ]);
    expect(planDrains([undrain('n1', 4), drain('n2', 9)], applied)).toEqual([]);
    expect(planDrains([undrain('n1', 12), drain('n2', 9)], applied).map((a) => a.node)).toEqual(['n1']);
  });
  it("catching up after an outage: only each node's last operation matters (DRAIN then UNDRAIN missed: one UNDRAIN)", () => {
    const plan = planDrains([undrain('n1', 20)], new Map([['n1', 3]]));
    expect(plan).toEqual([{ node: 'n1', rev: 20, record: undrain('n1', 20).record }]);
  });
  it('an unreadable value is planned once, as null, so the caller skips and logs it', () => {
    const plan = planDrains([{ node: 'n1', rev: 5, record: null }], new Map());
    expect(plan).toEqual([{ node: 'n1', rev: 5, record: null }]);
    expect(planDrains([{ node: 'n1', rev: 5, record: null }], new Map([['n1', 5]]))).toEqual([]);
  });
  it('the drained set: nodes whose last operation is a DRAIN', () => {
    expect(drainedNodes([drain('n3', 1), undrain('n1', 2), drain('n2', 3), { node: 'n4', rev: 4, record: null }])).toEqual(['n2', 'n3']);
  });
});

const ack = (rev: number, phase: 'applied' | 'done', outcome = 'drained', extra: Partial<AckRecord> = {}): AckRecord => ({
  rev,
  phase,
  outcome,
  waitedMs: 100,
  cancelled: 0,
  closed: 0,
  left: 0,
  error: null,
  ...extra,
});

describe('ackProgress (ack bookkeeping)', () => {
  const all = new Set(['a', 'b', 'c']);
  it('complete once every expected live instance answered the revision in the phase needed', () => {
    const acks = new Map([
      ['a', ack(7, 'done')],
      ['b', ack(7, 'applied', 'draining')],
      ['c', ack(7, 'done')],
    ]);
    expect(ackProgress(7, 'applied', all, all, acks).isComplete).toBe(true);
    const done = ackProgress(7, 'done', all, all, acks);
    expect(done.isComplete).toBe(false);
    expect(done.missing).toEqual(['b']);
  });
  it("an older revision's acknowledgement does not count; a missing or unreadable one neither", () => {
    const p = ackProgress(
      7,
      'applied',
      all,
      all,
      new Map([
        ['a', ack(6, 'done')],
        ['b', null],
      ]),
    );
    expect(p.missing).toEqual(['a', 'b', 'c']);
  });
  it('an instance gone from the fleet (lease expired) is not waited for', () => {
    const p = ackProgress(
      7,
      'done',
      all,
      new Set(['a', 'c']),
      new Map([
        ['a', ack(7, 'done')],
        ['c', ack(7, 'done')],
      ]),
    );
    expect(p.isComplete).toBe(true);
    expect([...p.answered.keys()]).toEqual(['a', 'c']);
  });
  it('an instance that joined after the operation was written is not waited for', () => {
    expect(ackProgress(7, 'done', new Set(['a']), all, new Map([['a', ack(7, 'done')]])).isComplete).toBe(true);
  });
  it('a later revision means overtaken (an UNDRAIN aborted the DRAIN): answered, superseded', () => {
    const p = ackProgress(
      7,
      'done',
      all,
      all,
      new Map([
        ['a', ack(7, 'done')],
        ['b', ack(9, 'done', 'catching-up')],
        ['c', ack(7, 'done')],
      ]),
    );
    expect(p.isComplete).toBe(true);
    expect(p.answered.get('b')).toBe('superseded');
    expect(combineDrainAcks(p.answered).outcome).toBe('undrained');
  });
  it('an error is an answer, reported as a failure with the instance name', () => {
    const p = ackProgress(7, 'applied', all, all, new Map([['a', ack(7, 'done', 'unknown', { error: 'no node "n9"' })]]));
    expect(p.failures).toEqual(['a: no node "n9"']);
  });
  it('the combined DRAIN row: longest wait, summed counts, drained once any drained', () => {
    const answered = new Map<string, AckRecord | 'superseded'>([
      ['a', ack(7, 'done', 'drained', { waitedMs: 300, cancelled: 1 })],
      ['b', ack(7, 'done', 'already-drained', { waitedMs: 0, closed: 2 })],
    ]);
    expect(combineDrainAcks(answered)).toEqual({ outcome: 'drained', waitedMs: 300, cancelled: 1, closed: 2, left: 0 });
    expect(combineDrainAcks(new Map([['b', ack(7, 'done', 'already-drained', { waitedMs: 0 })]])).outcome).toBe('already-drained');
  });
});
