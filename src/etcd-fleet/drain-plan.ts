// What an instance must do to match the fleet's drains: the drains prefix as read (each node's
// last operation and its revision) against the revision this instance last applied per node.
// Level-triggered: the whole prefix is read each sync, so an instance that missed operations
// (etcd unreachable, started later) catches up by the same path as one that missed none. Pure.

import type { DrainRecord } from './records.js';

/** One key of the drains prefix as read: the node, the key's mod revision, the decoded value (null: garbage). */
export interface DrainEntry {
  readonly node: string;
  readonly rev: number;
  readonly record: DrainRecord | null;
}

export interface DrainAction {
  readonly node: string;
  readonly rev: number;
  /** null: a value nobody understands; skipped (once) and logged. */
  readonly record: DrainRecord | null;
}

/**
 * The operations newer than what this instance applied, oldest first. A node whose key is gone
 * (deleted by hand) is not undrained: only an UNDRAIN does that.
 */
export function planDrains(entries: readonly DrainEntry[], applied: ReadonlyMap<string, number>): DrainAction[] {
  return entries
    .filter((e) => e.rev > (applied.get(e.node) ?? 0))
    .sort((a, b) => a.rev - b.rev)
    .map((e) => ({ node: e.node, rev: e.rev, record: e.record }));
}

/** The nodes the fleet holds drained: their last operation is a DRAIN. */
export function drainedNodes(entries: readonly DrainEntry[]): string[] {
  return entries
    .filter((e) => e.record?.op === 'drain')
    .map((e) => e.node)
    .sort();
}
