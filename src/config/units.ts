// Parsing of the human units the YAML accepts: durations ("500ms", "2s", "1m", "1h", "1m30s",
// or a bare number of ms) and byte sizes ("64MiB", "512kB", or a bare number of bytes; like
// PostgreSQL, kB/MB/GB are powers of 1024). Pure; returns null for anything it cannot read.

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Readonly<Record<string, number>> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
const BARE_NUMBER = /^\d+(?:\.\d+)?$/;

/** Milliseconds (rounded to an integer) from a duration, or null. Negative values are refused. */
export function parseDurationMs(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (BARE_NUMBER.test(text)) return Math.round(Number(text));
  if (text === '') return null;
  let total = 0;
  let consumed = 0;
  DURATION_PART.lastIndex = 0;
  for (let m = DURATION_PART.exec(text); m !== null; m = DURATION_PART.exec(text)) {
    total += Number(m[1]) * (DURATION_UNITS_MS[m[2] ?? ''] ?? NaN);
    consumed = DURATION_PART.lastIndex;
  }
  return consumed === text.length && Number.isFinite(total) ? Math.round(total) : null;
}

/** Bytes from a size ("64MiB", "64MB", "64M", "1024"), or null. */
export function parseByteSize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string') return null;
  const m = /^(\d+)\s*(?:([bkmgBKMG])(?:i?[bB])?)?$/.exec(value.trim());
  if (m === null) return null;
  const unit = (m[2] ?? 'b').toLowerCase();
  return Number(m[1]) * (SIZE_UNITS[unit] ?? NaN);
}

/** Formats ms back into the shortest exact unit, for messages and SHOW CONFIG. */
export function formatDurationMs(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
