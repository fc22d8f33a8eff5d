// The ordered list of requests sent to one backend whose responses have not all arrived. Each
// op says how its responses reach the client: forwarded, swallowed (Meridian's own injected
// message; errors still reach the client), or synthesized (the client's message was answered
// by Meridian without the server). A ring buffer of small ints: no object per message.

export const enum Op {
  Query = 1, // client simple Query: ends at ReadyForQuery
  Parse = 2, // ends at ParseComplete
  Bind = 3, // ends at BindComplete
  Describe = 4, // ends at RowDescription / NoData
  Execute = 5, // ends at CommandComplete / EmptyQuery / PortalSuspended
  Close = 6, // ends at CloseComplete
  Sync = 7, // ends at ReadyForQuery
  FunctionCall = 8, // ends at ReadyForQuery
  Internal = 9, // Meridian's own simple Query: everything swallowed, ends at ReadyForQuery
}

export const enum OpMode {
  Forward = 0,
  Swallow = 1,
  Synth = 2,
}

export class OpQueue {
  private kinds: Uint8Array;
  private modes: Uint8Array;
  /** Per-op payload: the synthetic frame to emit, or the statement record of an Execute. */
  private data: unknown[];
  private head = 0;
  private count = 0;

  constructor(capacity = 16) {
    this.kinds = new Uint8Array(capacity);
    this.modes = new Uint8Array(capacity);
    this.data = new Array<unknown>(capacity).fill(null);
  }

  get size(): number {
    return this.count;
  }

  get isEmpty(): boolean {
    return this.count === 0;
  }

  push(kind: Op, mode: OpMode, data: unknown = null): void {
    if (this.count === this.kinds.length) this.grow();
    const i = (this.head + this.count) % this.kinds.length;
    this.kinds[i] = kind;
    this.modes[i] = mode;
    this.data[i] = data;
    this.count++;
  }

  /** Kind of the oldest op, or 0 when empty. */
  headKind(): number {
    return this.count === 0 ? 0 : this.kinds[this.head]!;
  }

  headMode(): number {
    return this.modes[this.head]!;
  }

  headData(): unknown {
    return this.data[this.head];
  }

  shift(): void {
    if (this.count === 0) return;
    this.data[this.head] = null;
    this.head = (this.head + 1) % this.kinds.length;
    this.count--;
  }

  /** Number of ops that end with a ReadyForQuery (Query, Sync, FunctionCall, Internal). */
  countSyncPoints(): number {
    let n = 0;
    for (let k = 0; k < this.count; k++) {
      const kind = this.kinds[(this.head + k) % this.kinds.length]!;
      if (kind === Op.Query || kind === Op.Sync || kind === Op.FunctionCall || kind === Op.Internal) n++;
    }
    return n;
  }

  /** Data of every Internal op (their callbacks), oldest first. */
  internalData(): unknown[] {
    const out: unknown[] = [];
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % this.kinds.length;
      if (this.kinds[i] === Op.Internal) out.push(this.data[i]);
    }
    return out;
  }

  clear(): void {
    for (let k = 0; k < this.count; k++) this.data[(this.head + k) % this.kinds.length] = null;
    this.head = 0;
    this.count = 0;
  }

  private grow(): void {
    const cap = this.kinds.length * 2;
    const kinds = new Uint8Array(cap);
    const modes = new Uint8Array(cap);
    const data = new Array<unknown>(cap).fill(null);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % this.kinds.length;
      kinds[k] = this.kinds[i]!;
      modes[k] = this.modes[i]!;
      data[k] = this.data[i];
    }
    this.kinds = kinds;
    this.modes = modes;
    this.data = data;
    this.head = 0;
  }
}
