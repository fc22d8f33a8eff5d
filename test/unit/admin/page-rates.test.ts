// Routed requests per second for the operator page (src/admin/page-rates.ts), on a fake clock:
// counter deltas over about a second, unknown until a first span exists, never negative, and
// bounded in samples however often pages poll.
import { describe, expect, it } from 'vitest';
import { RoutedRates } from '../../../src/admin/page-rates.js';

const counts = (reads: number, writes: number) => new Map([['n1', { reads, writes }]]);

describe('RoutedRates', () => {
  it('is unknown at the first sample, then the delta per second', () => {
    const r = new RoutedRates();
    expect(r.observe(0, counts(0, 0)).get('n1')).toEqual({ readsPerS: null, writesPerS: null });
    expect(r.observe(1000, counts(50, 10)).get('n1')).toEqual({ readsPerS: 50, writesPerS: 10 });
    expect(r.observe(2000, counts(150, 10)).get('n1')).toEqual({ readsPerS: 100, writesPerS: 0 });
  });

  it('uses a sample about a second old when pages poll faster', () => {
    const r = new RoutedRates();
    for (let t = 0; t <= 3000; t += 100) r.observe(t, counts(t, t / 10)); // 1000 reads/s, 100 writes/s
    expect(r.observe(3100, counts(3100, 310)).get('n1')).toEqual({ readsPerS: 1000, writesPerS: 100 });
  });

  it('gives a rate over a short span (at least 300 ms) before a full second exists', () => {
    const r = new RoutedRates();
    r.observe(0, counts(0, 0));
    expect(r.observe(200, counts(10, 0)).get('n1')!.readsPerS).toBeNull();
    expect(r.observe(500, counts(25, 0)).get('n1')!.readsPerS).toBe(50);
  });

  it('reads a counter that went back (node removed and added again) as 0, and a new node as unknown', () => {
    const r = new RoutedRates();
    r.observe(0, counts(100, 100));
    const next = r.observe(1000, new Map([...counts(5, 5), ['n2', { reads: 7, writes: 0 }]]));
    expect(next.get('n1')).toEqual({ readsPerS: 0, writesPerS: 0 });
    expect(next.get('n2')).toEqual({ readsPerS: null, writesPerS: null });
  });

  it('keeps a bounded number of samples however often it is asked', () => {
    const r = new RoutedRates({ maxSamples: 8 });
    for (let t = 0; t < 10_000; t++) r.observe(t / 100, counts(t, 0)); // 100 000 polls a second
    expect((r as unknown as { samples: unknown[] }).samples.length).toBeLessThanOrEqual(8);
  });
});
