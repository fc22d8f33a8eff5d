// Bookkeeping of one fleet-wide operation: which live instances acknowledged revision `rev` of a
// node's drain key, and which did not yet. An instance that has gone (its lease expired, so its
// registration and its acknowledgements with it) no longer counts: "every live instance". An
// acknowledgement of a later revision means a later operation overtook this one on that
// instance (an UNDRAIN aborted the DRAIN): it counts as answered, as `superseded`. Pure.

import type { AckRecord } from './records.js';

export interface AckProgress {
  /** Every instance that must answer has (an error is an answer too). */
  readonly isComplete: boolean;
  readonly answered: ReadonlyMap<string, AckRecord | 'superseded'>;
  /** Live instances that have not answered yet, sorted. */
  readonly missing: readonly string[];
  /** Instances that answered with an error, "name: error". */
  readonly failures: readonly string[];
}

/**
 * `expected`: the instances registered when the operation was written; `live`: those registered
 * now; `acks`: instance → its acknowledgement (null: unreadable). `need`: the phase that counts.
 */
export function ackProgress(
  rev: number,
  need: 'applied' | 'done',
  expected: ReadonlySet<string>,
  live: ReadonlySet<string>,
  acks: ReadonlyMap<string, AckRecord | null>,
): AckProgress {
  const answered = new Map<string, AckRecord | 'superseded'>();
  const missing: string[] = [];
  const failures: string[] = [];
  for (const instance of [...expected].sort()) {
    if (!live.has(instance)) continue;
    const a = acks.get(instance) ?? null;
    if (a !== null && a.rev > rev) answered.set(instance, 'superseded');
    else if (a !== null && a.rev === rev && (a.error !== null || a.phase === 'done' || need === 'applied')) {
      answered.set(instance, a);
      if (a.error !== null) failures.push(`${instance}: ${a.error}`);
    } else missing.push(instance);
  }
  return { isComplete: missing.length === 0, answered, missing, failures };
}

/** DRAIN's combined row over the instances' answers: the longest wait, summed counts, the weakest outcome. */
export function combineDrainAcks(answered: ReadonlyMap<string, AckRecord | 'superseded'>): {
  outcome: 'drained' | 'already-drained' | 'undrained';
  waitedMs: number;
  cancelled: number;
  closed: number;
  left: number;
} {
  let outcome: 'drained' | 'already-drained' | 'undrained' = 'already-drained';
  let waitedMs = 0;
  let cancelled = 0;
  let closed = 0;
  let left = 0;
  for (const a of answered.values()) {
    if (a === 'superseded' || a.outcome === 'undrained') {
      outcome = 'undrained';
      continue;
    }
    if (a.outcome === 'drained' && outcome === 'already-drained') outcome = 'drained';
    waitedMs = Math.max(waitedMs, a.waitedMs);
    cancelled += a.cancelled;
    closed += a.closed;
    left += a.left;
  }
  return { outcome, waitedMs, cancelled, closed, left };
}
