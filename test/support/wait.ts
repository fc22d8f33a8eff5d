// Test support: deadline-based polling. A machine with 2 cores and a load average of 10+ makes every
// fixed sleep flaky; poll a condition until a generous deadline instead, and say what was awaited.

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface WaitOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** What is awaited, for the error message (a function is called at timeout, to report the last state). */
  what: string | (() => string);
}

/**
 * Calls `check` until it returns something other than undefined/null/false and resolves with that.
 * A throwing check counts as "not yet" (its last error is reported at timeout).
 */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, opts: WaitOptions): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== null && v !== false) return v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const what = typeof opts.what === 'function' ? opts.what() : opts.what;
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(opts.intervalMs ?? 50);
  }
}

let counter = 0;
/** A name no other test (file, worker or run) uses at the same time: for tables in shared clusters. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase();
}
