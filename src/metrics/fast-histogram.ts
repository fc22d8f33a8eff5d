// An unlabelled histogram for per-request observations. prom-client's Histogram.observe builds
// label objects, hashes them and validates them on every call (about a microsecond, on every
// request); this one finds the bucket and adds three numbers. It stays a prom-client Histogram
// for the registry, which reads the values through getForPromString() at scrape time.

import client from 'prom-client';

interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
  exemplar?: null;
}

export class FastHistogram extends client.Histogram<never> {
  // Set by prom-client's Metric constructor (not in its type declarations).
  declare readonly name: string;
  declare readonly help: string;
  declare readonly aggregator: string;
  private readonly bounds: Float64Array;
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;
  /** prom-client exports nothing after reset() until the next observation. */
  private hasSeries = true;

  constructor(cfg: { name: string; help: string; buckets: number[]; registers: client.Registry[] }) {
    super(cfg);
    // prom-client sets observe as an own property; drop it so the method below is used.
    delete (this as { observe?: unknown }).observe;
    this.bounds = Float64Array.from(cfg.buckets);
    this.counts = new Float64Array(cfg.buckets.length);
  }

  /** The hot-path observe: no allocation. */
  record(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    if (i < b.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
    this.hasSeries = true;
  }

  /** Unlabelled: `observe(value)`; the labelled forms have no labels to take. */
  override observe(labelsOrValue: unknown, value?: number): void {
    this.record(typeof labelsOrValue === 'number' ? labelsOrValue : (value ?? NaN));
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor calls reset() before this class's fields exist.
    (this.counts as Float64Array | undefined)?.fill(0);
    this.sum = 0;
    this.count = 0;
    this.hasSeries = false;
  }

  /** What the registry exports (the same shape prom-client's Histogram produces). */
  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; values: ExportedValue[]; aggregator: string }> {
    const values: ExportedValue[] = [];
    if (!this.hasSeries) return { name: this.name, help: this.help, type: 'histogram', values, aggregator: this.aggregator };
    const bucket = `${this.name}_bucket`;
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += this.counts[i]!;
      values.push({ labels: { le: this.bounds[i]! }, value: acc, metricName: bucket, exemplar: null });
    }
    values.push({ labels: { le: '+Inf' }, value: this.count, metricName: bucket, exemplar: null });
    values.push({ labels: {}, value: this.sum, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: this.count, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: this.aggregator };
  }

  override async get(): Promise<client.MetricObjectWithValues<client.MetricValueWithName<never>>> {
    return (await this.getForPromString()) as unknown as client.MetricObjectWithValues<client.MetricValueWithName<never>>;
  }
}
