// Picks the lag method for the cluster kind and computes one node's lag from its fresh probe and
// the other nodes' latest probes (README, "What it does" → Health). Pure dispatch over lag.ts / heartbeat-lag.ts.

import type { ClusterKind } from '../config/types.js';
import { heartbeatLag, type HeartbeatWriter } from './heartbeat-lag.js';
import { logicalLag, pglogicalLagBytes, physicalLag, spockLag, type LagInput, type LagValue } from './lag.js';

export interface LagPeer extends LagInput {
  readonly writer: HeartbeatWriter;
  readonly hasProbed: boolean;
  /** Up, role master and not a split-brain loser: the master physical standbys follow. */
  readonly isPreferredMaster: boolean;
}

export interface LagContext {
  readonly kind: ClusterKind;
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

function viaHeartbeat(ctx: LagContext): number | null {
  const raw = ctx.self.raw;
  if (raw === null) return null;
  const lag = heartbeatLag(ctx.self.name, raw, ctx.others, ctx.intervalMs, ctx.wasKnown);
  return lag === null ? null : Math.round(lag);
}

export function computeNodeLag(ctx: LagContext): NodeLag {
  switch (ctx.kind) {
    case 'physical': {
      const master = ctx.others.find((o) => o.isPreferredMaster && o.isUp) ?? null;
      return physicalLag(ctx.self, master, ctx.lastCaughtUpAtMs);
    }
    case 'logical':
      return { ...logicalLag(ctx.self, [ctx.self, ...ctx.others]), isCaughtUp: false };
    case 'pglogical':
      return { lagMs: viaHeartbeat(ctx), lagBytes: pglogicalLagBytes(ctx.self, ctx.others), isCaughtUp: false };
    case 'heartbeat':
      return { lagMs: viaHeartbeat(ctx), lagBytes: null, isCaughtUp: false };
    case 'spock': {
      const s = spockLag(ctx.self);
      return s !== null ? { ...s, isCaughtUp: false } : { lagMs: viaHeartbeat(ctx), lagBytes: null, isCaughtUp: false };
    }
  }
}
