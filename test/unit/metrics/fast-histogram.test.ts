// FastHistogram must export exactly what prom-client's own Histogram exports for the same
// observations (text and JSON), so swapping it in changes nothing a scraper sees.
import client from 'prom-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from '../../../src/metrics/fast-histogram.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

function pair(): { fast: FastHistogram; ref: client.Histogram<never>; fastReg: client.Registry; refReg: client.Registry } {
  const fastReg = new client.Registry();
  const refReg = new client.Registry();
  const cfg = { name: 'h_seconds', help: 'a histogram', buckets: BUCKETS };
  return { fast: new FastHistogram({ ...cfg, registers: [fastReg] }), ref: new client.Histogram({ ...cfg, registers: [refReg] }), fastReg, refReg };
}

describe('FastHistogram', () => {
  it('exports the same text and JSON as prom-client for any observations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.double({ min: 0, max: 20, noNaN: true }), fc.constantFrom(...BUCKETS)), { maxLength: 200 }), async (values) => {
        const { fast, ref, fastReg, refReg } = pair();
        for (const v of values) {
          fast.record(v);
          ref.observe(v);
        }
        expect(await fastReg.metrics()).toBe(await refReg.metrics());
        expect(await fastReg.getMetricsAsJSON()).toEqual(await refReg.getMetricsAsJSON());
      }),
      { numRuns: 100 },
    );
  });

  it('observe() is record(), and reset() empties it', async () => {
    const { fast, ref, fastReg, refReg } = pair();
    fast.observe(0.003);
    ref.observe(0.003);
    expect(await fastReg.metrics()).toBe(await refReg.metrics());
    fast.reset();
    ref.reset();
    expect(await fastReg.metrics()).toBe(await refReg.metrics());
    fast.record(0.2);
    ref.observe(0.2);
    expect(await fastReg.metrics()).toBe(await refReg.metrics());
    expect(await fastReg.metrics()).toContain('h_seconds_count 1');
  });
});
