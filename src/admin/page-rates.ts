// Routed reads and writes per second for the operator page, from the routed-request counters
// (SHOW NODES' routed_reads / routed_writes). Each GET /ui/state adds one sample; a rate is the
// counters' difference against a sample about a second older, divided by the time between them.
// Computed here rather than in the browser so every page open at once sees the same figures;
// several pages polling only add samples. Pure: the clock is passed in. At most `maxSamples` kept.

export interface RoutedCounts {
  readonly reads: number;
  readonly writes: number;
}

export interface RoutedRate {
  /** Per second; null until two samples at least `minSpanMs` apart exist. */
  readonly readsPerS: number | null;
  readonly writesPerS: number | null;
}

interface Sample {
  readonly atMs: number;
  readonly counts: ReadonlyMap<string, RoutedCounts>;
}

export interface RateOptions {
  /** The span a rate is measured over when samples allow (default 1 s). */
  readonly spanMs?: number;
  /** The shortest span that gives a rate at all (default 300 ms). */
  readonly minSpanMs?: number;
  readonly maxSamples?: number;
}

const round1 = (v: number): number => Math.round(v * 10) / 10;

export class RoutedRates {
  private samples: Sample[] = [];
  private readonly spanMs: number;
  private readonly minSpanMs: number;
  private readonly maxSamples: number;

  constructor(opts: RateOptions = {}) {
    this.spanMs = opts.spanMs ?? 1_000;
    this.minSpanMs = opts.minSpanMs ?? 300;
    this.maxSamples = opts.maxSamples ?? 64;
  }

  /** Adds a sample of the counters at `nowMs` and returns each node's rate. */
  observe(nowMs: number, counts: ReadonlyMap<string, RoutedCounts>): Map<string, RoutedRate> {
    const base = this.baseline(nowMs);
    this.samples.push({ atMs: nowMs, counts });
    // Keep the baseline of the next call's window and everything newer; bounded whatever the poll rate.
    const keepFrom = this.newestAtLeast(nowMs - this.spanMs);
    if (keepFrom > 0) this.samples = this.samples.slice(keepFrom);
    if (this.samples.length > this.maxSamples) this.samples = this.samples.slice(this.samples.length - this.maxSamples);
    const out = new Map<string, RoutedRate>();
    for (const [node, c] of counts) {
      const before = base?.counts.get(node);
      if (base === null || before === undefined) {
        out.set(node, { readsPerS: null, writesPerS: null });
        continue;
      }
      const seconds = (nowMs - base.atMs) / 1000;
      // A counter that went back (a node removed and added again by a reload) reads as 0, not negative.
      out.set(node, {
        readsPerS: round1(Math.max(0, c.reads - before.reads) / seconds),
        writesPerS: round1(Math.max(0, c.writes - before.writes) / seconds),
      });
    }
    return out;
  }

  /** The newest sample at least spanMs old; else the oldest at least minSpanMs old; else null. */
  private baseline(nowMs: number): Sample | null {
    const full = this.samples[this.newestAtLeast(nowMs - this.spanMs)];
    if (full !== undefined) return full;
    const first = this.samples[0];
    return first !== undefined && first.atMs <= nowMs - this.minSpanMs ? first : null;
  }

  /** Index of the newest sample taken at or before `atMs`; -1 when none. */
  private newestAtLeast(atMs: number): number {
    for (let i = this.samples.length - 1; i >= 0; i--) if (this.samples[i]!.atMs <= atMs) return i;
    return -1;
  }
}
