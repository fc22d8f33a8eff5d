// What a worker process of a multi-process instance (`workers` > 1) hands the process object and
// admin: the ways it reaches the rest of the instance (the primary and the other workers). Types
// only, so the composition root and admin depend on this shape and not on the IPC behind it.

import type { LagStatus } from '../health/lag-problem.js';

/** One admin command's table as it crosses processes (the console's AdminTable, plain data). */
export interface WireTable {
  readonly columns: readonly { readonly name: string; readonly type: 'text' | 'int' | 'float' | 'bool' }[];
  readonly rows: readonly (readonly (string | number | boolean | null)[])[];
  readonly tag?: string;
}

/** A peer's answer to a fanned-out admin command: its table, or the error it answered with. */
export type PeerAnswer =
  | { readonly worker: number; readonly ok: true; readonly table: WireTable }
  | { readonly worker: number; readonly ok: false; readonly code: string; readonly sqlstate: string; readonly message: string };

export interface FleetLink {
  /** This worker's index (0 … workers-1); a restarted worker keeps its index. */
  readonly workerIndex: number;
  /** Passive health: live traffic saw a node fail; the primary evicts it for the whole instance. */
  reportFailure(node: string, reason: string): void;
  /** Probe a node now (in the primary); resolves once the resulting snapshot has been applied here. */
  probeNow(node: string): Promise<void>;
  /** The node's lag source and problem, as the primary's probes last saw it. */
  lagStatusOf(node: string): LagStatus | null;
  /** Runs an admin command on every other worker; rejects when one does not answer in time. */
  runOnPeers(command: string, timeoutMs: number): Promise<PeerAnswer[]>;
  /** The Prometheus text of the whole instance (every worker and the primary, aggregated). */
  instanceMetrics(): Promise<string>;
  /** A cancel request for a session this worker does not have: the other workers look for it; false: dropped (too many in flight). */
  forwardCancel(pid: number, secret: number): boolean;
  /** This worker listens for clients (and admin HTTP): the instance came up. */
  serving(): void;
  /** This worker shuts down on SHUTDOWN: the whole instance stops with it. */
  shutdownInstance(): void;
}
