import { describe, expect, it } from 'vitest';
import {
  countProbe,
  evictState,
  filterRtt,
  isChanging,
  NEW_NODE,
  nextProbeDelayMs,
  RTT_WINDOW,
  type NodeHealthState,
  type Thresholds,
} from '../../../src/health/thresholds.js';

const t: Thresholds = { rise: 2, fall: 3, intervalMs: 1000, fastIntervalMs: 250, jitter: 0.1 };

function run(outcomes: boolean[], s: NodeHealthState = NEW_NODE) {
  const transitions: (string | null)[] = [];
  for (const ok of outcomes) {
    const step = countProbe(s, ok, t);
    s = step.state;
    transitions.push(step.transition);
  }
  return { s, transitions };
}

describe('health thresholds (rise/fall)', () => {
  it('a brand-new node is up after its first good probe', () => {
    expect(run([true]).transitions).toEqual(['up']);
  });

  it('a brand-new node that never answers is down after `fall` failures, then needs `rise`', () => {
    const r = run([false, false, false, true, true]);
    expect(r.transitions).toEqual([null, null, 'down', null, 'up']);
  });

  it('an up node goes down only after `fall` consecutive failures; a success resets the count', () => {
    const up = run([true]).s;
    expect(run([false, false, true, false, false], up).transitions).toEqual([null, null, null, null, null]);
    expect(run([false, false, false], up).transitions).toEqual([null, null, 'down']);
  });

  it('a down node comes back only after `rise` consecutive successes', () => {
    const down = run([true, false, false, false]).s;
    expect(down.status).toBe('down');
    expect(run([true, false, true, true], down).transitions).toEqual([null, null, null, 'up']);
  });

  it('passive eviction: down at once, readmitted only by `rise` probes', () => {
    const s = evictState(run([true]).s);
    expect(s.status).toBe('down');
    expect(run([true], s).transitions).toEqual([null]);
    expect(run([true, true], s).transitions).toEqual([null, 'up']);
  });

  it('probes fast while a node is changing state, normal otherwise', () => {
    const mid = () => 0.5;
    const up = run([true]).s;
    expect(nextProbeDelayMs(NEW_NODE, t, mid)).toBe(250);
    expect(nextProbeDelayMs(up, t, mid)).toBe(1000);
    const failing = run([false], up).s;
    expect(isChanging(failing)).toBe(true);
    expect(nextProbeDelayMs(failing, t, mid)).toBe(250);
    const down = run([false, false, false], up).s;
    expect(nextProbeDelayMs(down, t, mid)).toBe(1000);
    expect(nextProbeDelayMs(run([true], down).s, t, mid)).toBe(250);
  });

  it('jitters the interval by ±jitter', () => {
    const up = run([true]).s;
    expect(nextProbeDelayMs(up, t, () => 0)).toBe(900);
    expect(nextProbeDelayMs(up, t, () => 0.999999)).toBe(1100);
    expect(nextProbeDelayMs(up, { ...t, jitter: 0 }, () => 0)).toBe(1000);
  });
});

describe('filterRtt', () => {
  it('ignores queueing spikes: the recent minimum is the distance', () => {
    const w: number[] = [];
    expect(filterRtt(w, 30)).toBe(30);
    expect(filterRtt(w, 2)).toBe(2);
    expect(filterRtt(w, 95)).toBe(2); // a loaded host adds delay to one probe
    expect(filterRtt(w, 40)).toBe(2);
  });

  it('follows a real change of path within RTT_WINDOW probes', () => {
    const w: number[] = [];
    filterRtt(w, 2);
    let v = 0;
    for (let i = 0; i < RTT_WINDOW; i++) v = filterRtt(w, 50);
    expect(v).toBe(50);
    expect(w.length).toBe(RTT_WINDOW);
  });
});
