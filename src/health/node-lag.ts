// What a cluster kind's lag method (its plug-in's `lag`) gets and returns: one node's fresh probe
// and the other nodes' latest probes (README, "What it does" → Health), and the heartbeat lag
// in that shape for the kinds that use it. Pure; the math is in lag.ts / heartbeat-lag.ts.

import { heartbeatLag, type HeartbeatWriter } from './heartbeat-lag.js';
import type { LagInput, LagValue } from './lag.js';

export interface LagPeer extends LagInput {
  readonly writer: HeartbeatWriter;
  readonly hasProbed: boolean;
  /** Up, role master and not a split-brain loser: the master physical standbys follow. */
  readonly isPreferredMaster: boolean;
}

export interface LagContext {
  readonly intervalMs: number;
  readonly self: LagInput; // with its fresh probe
  readonly others: readonly LagPeer[];
  /** The node's previous lag was known and it stayed up (see heartbeat-lag.ts). */
  readonly wasKnown: boolean;
  readonly lastCaughtUpAtMs: number | null;
}

export interface NodeLag extends LagValue {
  readonly isCaughtUp: boolean;
}

/** The node's heartbeat lag in whole ms, or null (unknown). */
export function heartbeatLagMs(ctx: LagContext): number | null {
  const raw = ctx.self.raw;
  if (raw === null) return null;
  const lag = heartbeatLag(ctx.self.name, raw, ctx.others, ctx.intervalMs, ctx.wasKnown);
  return lag === null ? null : Math.round(lag);
}

/** The up master physical standbys follow (not a split-brain loser), or null. */
export function followedMaster(ctx: LagContext): LagPeer | null {
  return ctx.others.find((o) => o.isPreferredMaster && o.isUp) ?? null;
}
