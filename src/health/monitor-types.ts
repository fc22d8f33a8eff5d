// Types around the HealthMonitor: its clock (faked in tests), the counters it bumps and the
// optional collaborators it accepts. Types and one constant only.

import type { TopologyHooks } from '../topology/events.js';
import type { TopologyStore } from '../topology/topology-store.js';
import type { ProbeConnector } from './prober.js';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: Date.now,
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Counters the monitor bumps (structural, so health imports nothing from metrics/; prom-client
 * counters fit as they are).
 */
export interface HealthCounters {
  readonly probeFailures?: { inc(labels: { node: string }): void };
  readonly evictions?: { inc(labels: { node: string }): void };
  readonly failovers?: { inc(): void };
  /** 1 while reads follow writes because lag is unknown on every node (multi-master). */
  readonly readsFollowWrites?: { set(value: number): void };
  /** Times reads started following writes for that reason. */
  readonly readFallbacks?: { inc(): void };
  /** Reads of Patroni's GET /cluster by result (cluster.patroni). */
  readonly patroniPolls?: { inc(labels: { result: string }): void };
}

export interface HealthMonitorExtras {
  /** Use this store; default: a new TopologyStore over cfg.cluster.nodes (then `hooks` apply). */
  readonly store?: TopologyStore;
  /** Sees every topology event of the monitor's own store (metrics, tests). */
  readonly hooks?: TopologyHooks;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Opens a node's probe channel; default: a dedicated pg.Client per node. */
  readonly connect?: ProbeConnector;
}
