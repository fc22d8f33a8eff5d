// Routing history for the router's last read tie-break: when each node was last routed a request,
// as a sequence number (larger = more recent, 0 = never). The router is pure and keeps no state,
// so the Meridian object owns this, records each decision a session acts on, and hands the router
// `lastRoutedSeq` to read. Must not pick nodes; must not allocate per request (a Float64Array of
// stamps, one slot per node name, so sequence numbers past 2^31 stay unboxed).

export class RouteRecency {
  /** Node name → slot in `stamps`; names are never removed (a reload adds at most a few). */
  private readonly slots = new Map<string, number>();
  private stamps = new Float64Array(8);
  private seq = 0;

  /** When `node` was last routed a request: a sequence number, 0 = never. */
  readonly lastRoutedSeq = (node: string): number => {
    const slot = this.slots.get(node);
    return slot === undefined ? 0 : (this.stamps[slot] as number);
  };

  /** Records that a request was just routed to `node`. */
  note(node: string): void {
    let slot = this.slots.get(node);
    if (slot === undefined) {
      slot = this.slots.size;
      this.slots.set(node, slot);
      if (slot >= this.stamps.length) {
        const grown = new Float64Array(this.stamps.length * 2);
        grown.set(this.stamps);
        this.stamps = grown;
      }
    }
    this.stamps[slot] = ++this.seq;
  }
}
