// HAProxy-style health thresholds: rise/fall counting, passive eviction, the delay before the next
// probe (fast while a node is changing state, jittered) and RTT smoothing. Pure: no clock, no
// timers, no IO; the caller passes outcomes and a random source.

import type { HealthConfig } from '../config/types.js';

export type Thresholds = Pick<HealthConfig, 'rise' | 'fall' | 'intervalMs' | 'fastIntervalMs' | 'jitter'>;

/**
 *  new   never decided: up after its FIRST good probe, down after `fall` failures
 *  up    down after `fall` consecutive failures
 *  down  up after `rise` consecutive good probes (also after a passive eviction)
 */
export type HealthStatus = 'new' | 'up' | 'down';

export interface NodeHealthState {
  readonly status: HealthStatus;
  readonly okStreak: number;
  readonly failStreak: number;
}

export const NEW_NODE: NodeHealthState = Object.freeze({ status: 'new', okStreak: 0, failStreak: 0 });

export type Transition = 'up' | 'down' | null;

export interface ProbeStep {
  readonly state: NodeHealthState;
  readonly transition: Transition;
}

/** Count one probe outcome. */
export function countProbe(s: NodeHealthState, ok: boolean, t: Thresholds): ProbeStep {
  const okStreak = ok ? s.okStreak + 1 : 0;
  const failStreak = ok ? 0 : s.failStreak + 1;
  let status = s.status;
  let transition: Transition = null;
  if (ok && (s.status === 'new' || (s.status === 'down' && okStreak >= t.rise))) {
    status = 'up';
    transition = 'up';
  } else if (!ok && s.status !== 'down' && failStreak >= t.fall) {
    status = 'down';
    transition = 'down';
  }
  return { state: { status, okStreak, failStreak }, transition };
}

/** Passive health: out at once; only `rise` good probes bring it back. */
export function evictState(s: NodeHealthState): NodeHealthState {
  return { status: 'down', okStreak: 0, failStreak: s.failStreak };
}

export function isUp(s: NodeHealthState): boolean {
  return s.status === 'up';
}

/** Changing state: undecided, or up with failures, or down with successes. */
export function isChanging(s: NodeHealthState): boolean {
  if (s.status === 'new') return true;
  return s.status === 'up' ? s.failStreak > 0 : s.okStreak > 0;
}

/**
 * Delay before the next probe: `fastIntervalMs` while changing state, else `intervalMs`,
 * spread by ±jitter (a fraction) so probes of many nodes (and many proxies) do not align.
 * `random` returns [0, 1).
 */
export function nextProbeDelayMs(s: NodeHealthState, t: Thresholds, random: () => number): number {
  const base = isChanging(s) ? Math.min(t.fastIntervalMs, t.intervalMs) : t.intervalMs;
  const spread = 1 + t.jitter * (2 * random() - 1);
  return Math.max(1, Math.round(base * spread));
}

/** Smoothing factor for probe RTT: a new sample weighs 30 %. */

/** Probes remembered for the RTT minimum filter. */
export const RTT_WINDOW = 8;

/**
 * Proximity from probe RTTs: the minimum of the last RTT_WINDOW samples. Queueing (a loaded host,
 * a busy event loop, a slow server) only ever adds to a sample, so the recent minimum is the best
 * estimate of the path's distance (TCP's min-RTT filter); a real change of path shows within
 * RTT_WINDOW probes. `window` is mutated (a ring of samples).
 */
export function filterRtt(window: number[], sampleMs: number): number {
  window.push(sampleMs);
  if (window.length > RTT_WINDOW) window.shift();
  let min = window[0]!;
  for (let i = 1; i < window.length; i++) if (window[i]! < min) min = window[i]!;
  return min;
}
