// Heartbeat lag (pglogical, heartbeat/Bucardo, spock fallback). Meridian upserts its own clock
// into each master's own row of a replicated `meridian_heartbeat(node, ts)` table on every probe
// (only the owner row is written, so it never conflicts); every probe also reads all rows. A
// node's lag is Meridian's now minus the oldest peer row it sees, minus one interval, ≥ 0, with
// Meridian's clock on both sides (no clock skew between nodes). Pure.
//
// Refinements over the bare formula, each to avoid a wrong number:
//  * A peer row holding the newest write that could have reached the node counts as 0 lag.
//  * Peers are masters Meridian currently writes to (up, last write confirmed). A down peer's row
//    stops moving; counting it would make every node look stale.
//  * A peer that just (re)joined — Meridian's writes to it started < GRACE intervals ago — is not
//    counted against a node whose lag was already known (its new rows are still on the way), but
//    makes an unverified node (start-up) wait: lag stays unknown until rows are seen.
//  * A peer row never seen at all, after the grace: unknown.
//  * At start-up a node's lag stays unknown until every peer has been probed once, and every
//    peer found to be a master has been written and its row seen.

import type { NodeRole } from '../topology/types.js';
import type { RawProbe } from './probe-result.js';

export interface HeartbeatWriteRecord {
  readonly ts: number;
  readonly confirmedAtMs: number;
}

/** Meridian's writes into one master's own row. */
export interface HeartbeatWriter {
  readonly streakStartMs: number | null; // ts of the first confirmed write of the current streak
  readonly last: HeartbeatWriteRecord | null;
  readonly prev: HeartbeatWriteRecord | null;
}

export const NO_WRITER: HeartbeatWriter = Object.freeze({ streakStartMs: null, last: null, prev: null });

/** Peer rows newer than this many intervals into a streak are not yet expected elsewhere. */
export const GRACE_INTERVALS = 2;

/** Record the outcome of one probe's heartbeat write (null: not written, the streak ends). */
export function recordHeartbeatWrite(w: HeartbeatWriter, writtenTs: number | null, confirmedAtMs: number): HeartbeatWriter {
  if (writtenTs === null) return NO_WRITER;
  return { streakStartMs: w.streakStartMs ?? writtenTs, last: { ts: writtenTs, confirmedAtMs }, prev: w.last };
}

export interface HeartbeatPeer {
  readonly name: string;
  readonly isUp: boolean;
  /** From its latest good probe; Meridian writes a master's row from its next probe on. */
  readonly role: NodeRole;
  readonly writer: HeartbeatWriter;
  /** At least one probe of this peer has finished (so its role is known or it is down). */
  readonly hasProbed: boolean;
}

const EPS = 0.5; // ms: ts survive a timestamptz round trip as floats

/** The newest write of the peer that was committed before this probe was sent. */
function reference(w: HeartbeatWriter, sentAtMs: number): HeartbeatWriteRecord | null {
  if (w.last !== null && w.last.confirmedAtMs <= sentAtMs) return w.last;
  if (w.prev !== null && w.prev.confirmedAtMs <= sentAtMs) return w.prev;
  return null;
}

/**
 * Lag of `self` from its latest probe, or null (unknown). `wasKnown`: self's previous lag was
 * known and it stayed up.
 */
export function heartbeatLag(self: string, raw: RawProbe, peers: readonly HeartbeatPeer[], intervalMs: number, wasKnown: boolean): number | null {
  const rows = raw.heartbeat;
  if (rows === null) return null;
  const obs = (raw.sentAtMs + raw.receivedAtMs) / 2;
  const graceMs = GRACE_INTERVALS * intervalMs;
  let lag = 0;
  for (const p of peers) {
    if (p.name === self) continue;
    // Start-up: a peer not probed yet may be a master whose rows this node lacks.
    if (!wasKnown && !p.hasProbed) return null;
    const start = p.writer.streakStartMs;
    if (!p.isUp) continue;
    if (start === null) {
      // A master not written yet (its first probe only found the role): its rows are still to
      // come, so an unverified node waits as in the grace below.
      if (!wasKnown && p.role === 'master') return null;
      continue;
    }
    const seen = rows.get(p.name);
    const seesStreak = seen !== undefined && seen >= start - EPS;
    const ref = reference(p.writer, raw.sentAtMs);
    if (seesStreak && (ref === null || (seen as number) >= ref.ts - EPS)) continue; // up to date
    if (seesStreak) {
      lag = Math.max(lag, obs - (seen as number) - intervalMs);
      continue;
    }
    const inGrace = ref === null || raw.sentAtMs - start < graceMs;
    if (inGrace) {
      if (wasKnown) continue;
      return null;
    }
    if (seen === undefined) return null;
    lag = Math.max(lag, obs - seen - intervalMs);
  }
  return Math.max(0, lag);
}
