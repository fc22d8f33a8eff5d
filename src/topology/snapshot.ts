// Building immutable topology snapshots: a node's initial state from its config, a whole frozen
// snapshot from node states, and the physical split-brain derivation. Pure; the store
// (topology-store.ts) is the only caller that publishes snapshots.

import type { NodeConfig } from '../config/types.js';
import type { NodeSnapshot, TopologySnapshot } from './types.js';

/** A configured node before any probe: down, role unknown, lag unknown, active. */
export function initialNode(cfg: NodeConfig, nowMs: number): NodeSnapshot {
  return Object.freeze({
    name: cfg.name,
    host: cfg.host,
    port: cfg.port,
    region: cfg.region,
    location: cfg.location,
    priority: cfg.priority,
    isUp: false,
    role: 'unknown',
    rttMs: null,
    lagMs: null,
    lagBytes: null,
    seenWrites: null,
    syncAppliedFrom: null,
    unreplicated: null,
    state: 'active',
    isSplitBrain: false,
    lastError: null,
    changedAtMs: nowMs,
    failedProbes: 0,
    lastProbeAtMs: null,
  } satisfies NodeSnapshot);
}

/** Freeze nodes (config order) into a snapshot. */
export function buildSnapshot(nodes: readonly NodeSnapshot[], version: number, takenAtMs: number, writesHeld: string | null = null): TopologySnapshot {
  const frozen = Object.freeze(nodes.map((n) => (Object.isFrozen(n) ? n : Object.freeze({ ...n }))));
  const byName = new Map<string, NodeSnapshot>();
  for (const n of frozen) byName.set(n.name, n);
  return Object.freeze({ version, nodes: frozen, byName, takenAtMs, writesHeld });
}

/**
 * Physical clusters have one master. When several up nodes claim it, exactly one keeps writes:
 * the highest `priority`; on equal priority the incumbent (the master that already held writes,
 * normally the promoted standby — the other one is a stale old primary); then config order.
 * The rule depends only on stable facts, so the choice never alternates between probes.
 * Returns the preferred master's name, or null when at most one node claims master.
 */
export function preferredMaster(nodes: readonly NodeSnapshot[], incumbent: string | null): string | null {
  let claimants = 0;
  let best: NodeSnapshot | null = null;
  for (const n of nodes) {
    if (!n.isUp || n.role !== 'master') continue;
    claimants++;
    if (best === null || n.priority > best.priority || (n.priority === best.priority && n.name === incumbent && best.name !== incumbent)) {
      best = n;
    }
  }
  return claimants > 1 && best !== null ? best.name : null;
}
