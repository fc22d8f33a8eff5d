// Cancel requests a worker passes on to the rest of the instance (keys it did not hand out). A
// CancelRequest needs no login, so a client can send any number with made-up keys: each one passed
// on costs an IPC round trip to every other worker. At most MAX_RELAYED_CANCELS are in flight; more
// are dropped (a cancel is best effort in PostgreSQL too) and counted by the caller.

/** Cancels passed on at once, per worker. */
export const MAX_RELAYED_CANCELS = 64;

export class CancelRelay {
  private inFlight = 0;

  constructor(
    private readonly send: (pid: number, secret: number) => Promise<unknown>,
    private readonly max = MAX_RELAYED_CANCELS,
  ) {}

  /** Passes the cancel on; false when too many are in flight already (dropped). */
  relay(pid: number, secret: number): boolean {
    if (this.inFlight >= this.max) return false;
    this.inFlight++;
    this.send(pid, secret)
      .catch(() => undefined)
      .finally(() => this.inFlight--);
    return true;
  }

  get pending(): number {
    return this.inFlight;
  }
}
