// Read-your-writes watermarks: for each node, per master whose writes reach it, a Meridian-clock
// time T such that every write that master acknowledged before T is visible on the node. A
// session that wrote on master M at time t may then read from a node N when N is M or
// seenWrites(N)[M] ≥ t. Pure; the monitor keeps the inputs.
//
//  * physical: each probe of a primary records (sent at, pg_current_wal_insert_lsn()). The insert
//    position read after the probe was sent covers every commit acknowledged before it. A standby
//    whose replay LSN reached such a mark has replayed everything the primary acknowledged before
//    the mark's time.
//  * heartbeat kinds (pglogical, spock fallback, Bucardo heartbeat): Meridian writes its clock
//    into each master's own heartbeat row, taken before the probe is sent, and the row travels
//    with the master's other changes in commit order. A node that sees master M's row at ts T has
//    applied every transaction M committed before T.
//  * native logical replication: no watermark (null); a session's reads after a write go to the
//    node that took the write until no mark is needed.
// Each kind's plug-in picks one of these (its `seenWrites`); the helpers are here.

import type { RawProbe } from './probe-result.js';

/** Master name → Meridian-clock ms up to which its acknowledged writes are visible here. */
export type SeenWrites = ReadonlyMap<string, number>;

export interface LsnMark {
  readonly atMs: number; // Meridian clock when the probe was sent
  readonly lsn: number; // the primary's WAL insert position read by that probe, as bytes
}

/** Marks kept per primary: at the default 1 s interval, half a minute of history. */
export const MAX_LSN_MARKS = 32;

/** Appends a primary's probe to its marks (oldest first, bounded); marks never go backwards. */
export function recordLsnMark(marks: LsnMark[], raw: RawProbe): void {
  const lsn = raw.insertLsn;
  if (lsn === null) return;
  const last = marks[marks.length - 1];
  if (last !== undefined && (lsn < last.lsn || raw.sentAtMs <= last.atMs)) marks.length = 0; // a new timeline or clock step: start over
  marks.push({ atMs: raw.sentAtMs, lsn });
  if (marks.length > MAX_LSN_MARKS) marks.shift();
}

/** The newest mark a standby that replayed up to `replayLsn` has covered, as its time; or null. */
export function coveredUpTo(marks: readonly LsnMark[], replayLsn: number): number | null {
  for (let i = marks.length - 1; i >= 0; i--) {
    const m = marks[i] as LsnMark;
    if (m.lsn <= replayLsn) return m.atMs;
  }
  return null;
}

export interface MasterMarks {
  readonly name: string;
  readonly marks: readonly LsnMark[];
}

/**
 * A physical standby's watermarks from its fresh probe: per primary it may follow (up, preferred,
 * with their marks), the newest mark its replay position covers. Null when it can say nothing.
 */
export function walSeenWrites(raw: RawProbe, masters: readonly MasterMarks[]): SeenWrites | null {
  if (raw.replayLsn === null) return null; // a primary: it took its own writes (checked by name)
  let out: Map<string, number> | null = null;
  for (const m of masters) {
    const t = coveredUpTo(m.marks, raw.replayLsn);
    if (t !== null) (out ??= new Map()).set(m.name, t);
  }
  return out;
}

/** A heartbeat kind's watermarks: the heartbeat rows the node sees (null: table not read). */
export function heartbeatSeenWrites(raw: RawProbe): SeenWrites | null {
  return raw.heartbeat;
}
