// What admin (console and HTTP) sees of the etcd fleet (several Meridian instances, `fleet:`;
// not the workers of one instance, which is src/fleet/): its status for SHOW FLEET and GET /fleet,
// and the fleet-wide DRAIN and UNDRAIN. src/etcd-fleet/ implements it; admin depends only on
// this interface. Types only.

import type { DrainResult, UndrainResult } from './drain.js';

export interface FleetMemberView {
  readonly instance: string;
  readonly isSelf: boolean;
  readonly region: string | null;
  readonly version: string;
  readonly startedAtMs: number;
  readonly heartbeatAtMs: number;
  /** node → "role state up|down", as that instance sees it. */
  readonly topology: Readonly<Record<string, string>>;
}

export interface FleetStatus {
  readonly instance: string;
  /** ok: etcd answered the last sync; stale: it did not (serving with the last known state). */
  readonly status: 'ok' | 'stale';
  readonly staleSinceMs: number | null;
  readonly lastError: string | null;
  readonly lastSyncAtMs: number | null;
  /** A problem that does not stop the fleet (e.g. another process with this instance's name), or null. */
  readonly warning: string | null;
  /** The nodes the fleet holds drained (as last read). */
  readonly drained: readonly string[];
  /** The registered instances as last read (this one included, even while stale). */
  readonly members: readonly FleetMemberView[];
}

export interface FleetDrainOptions {
  readonly timeoutMs?: number;
  readonly force: boolean;
  readonly noWait: boolean;
}

export interface InstanceFleet {
  status(): FleetStatus;
  /** Written to etcd, applied by every live instance; 'started' with noWait once all applied it. Throws 57M03 while stale, 55000 naming instances that did not answer. */
  drain(node: string, opts: FleetDrainOptions): Promise<DrainResult | 'started'>;
  undrain(node: string): Promise<UndrainResult>;
}
