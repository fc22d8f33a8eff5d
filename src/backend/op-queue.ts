// The ordered list of requests sent to one backend whose responses have not all arrived. Each
// op says how its responses reach the client: forwarded, swallowed (Meridian's own injected
// message; errors still reach the client), or synthesized (the client's message was answered
// by Meridian without the server). A ring buffer of small ints plus typed payload slots: no
// object per message. Each kind has its own push method and payload type (see OpQueue), so a
// reader of the head asks for the payload its kind carries and nothing is cast.

import type { Classification } from '../classify/types.js';

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

/** Called at an Internal op's ReadyForQuery: the error message of its query, or null. */
export type InternalDone = (err: string | null) => void;

/**
 * What each op carries, each in a slot array of its own type (so nothing is cast):
 * - Internal: the callback run at its ReadyForQuery;
 * - Synth (any kind): the frame Meridian answers with when the op reaches the head;
 * - Query, Execute: the statement's classification (its effects apply at completion), or null;
 * - Parse, Bind, Describe: the Meridian-global statement name (a stale plan is prepared again,
 *   a failed Parse forgotten), or null for the unnamed statement / a client name passed through;
 * - Close, Sync, FunctionCall: nothing.
 */
export class OpQueue {
  private kinds: Uint8Array;
  private modes: Uint8Array;
  private frames: (Buffer | null)[];
  private callbacks: (InternalDone | null)[];
  private classes: (Classification | null)[];
  private names: (string | null)[];
  private head = 0;
  private count = 0;

  constructor(capacity = 16) {
    this.kinds = new Uint8Array(capacity);
    this.modes = new Uint8Array(capacity);
    this.frames = new Array<Buffer | null>(capacity).fill(null);
    this.callbacks = new Array<InternalDone | null>(capacity).fill(null);
    this.classes = new Array<Classification | null>(capacity).fill(null);
    this.names = new Array<string | null>(capacity).fill(null);
  }

  get size(): number {
    return this.count;
  }

  get isEmpty(): boolean {
    return this.count === 0;
  }

  /** A client Query, forwarded; `cls` applies its effects at its ReadyForQuery. */
  pushQuery(cls: Classification | null): void {
    const i = this.push(Op.Query, OpMode.Forward); // before reading this.classes: push may grow it
    this.classes[i] = cls;
  }

  /** An Execute, forwarded; `cls` is its portal's statement class (effects at CommandComplete). */
  pushExecute(cls: Classification | null): void {
    const i = this.push(Op.Execute, OpMode.Forward); // before reading this.classes: push may grow it
    this.classes[i] = cls;
  }

  /** Parse, Bind or Describe (forwarded or swallowed) of the Meridian-global statement `name`, or null. */
  pushStatementOp(kind: Op.Parse | Op.Bind | Op.Describe, mode: OpMode.Forward | OpMode.Swallow, name: string | null): void {
    const i = this.push(kind, mode); // before reading this.names: push may grow it
    this.names[i] = name;
  }

  /** An op with no payload: Close, Sync, FunctionCall (or a Parse/Bind/Describe of no named statement). */
  pushPlain(kind: Op, mode: OpMode.Forward | OpMode.Swallow): void {
    this.push(kind, mode);
  }

  /** A client message Meridian answers itself with `frame`, in order with the server's replies. */
  pushSynth(kind: Op, frame: Buffer): void {
    const i = this.push(kind, OpMode.Synth); // before reading this.frames: push may grow it
    this.frames[i] = frame;
  }

  /** Meridian's own simple Query: its replies swallowed, `done` called at its ReadyForQuery. */
  pushInternal(done: InternalDone): void {
    const i = this.push(Op.Internal, OpMode.Swallow); // before reading this.callbacks: push may grow it
    this.callbacks[i] = done;
  }

  /** Appends an op (payload slots left null) and returns its slot. */
  private push(kind: Op, mode: OpMode): number {
    if (this.count === this.kinds.length) this.grow();
    const i = (this.head + this.count) % this.kinds.length;
    this.kinds[i] = kind;
    this.modes[i] = mode;
    this.count++;
    return i;
  }

  /** Kind of the oldest op, or 0 when empty. */
  headKind(): number {
    return this.count === 0 ? 0 : this.kinds[this.head]!;
  }

  headMode(): number {
    return this.modes[this.head]!;
  }

  /** The head's synthetic frame (mode Synth), else null. */
  headFrame(): Buffer | null {
    return this.count === 0 ? null : this.frames[this.head]!;
  }

  /** The head's callback (kind Internal), else null. */
  headInternal(): InternalDone | null {
    return this.count === 0 ? null : this.callbacks[this.head]!;
  }

  /** The head's classification (kind Query or Execute), else null. */
  headCls(): Classification | null {
    return this.count === 0 ? null : this.classes[this.head]!;
  }

  /** The head's global statement name (kind Parse, Bind or Describe), else null. */
  headStatement(): string | null {
    return this.count === 0 ? null : this.names[this.head]!;
  }

  shift(): void {
    if (this.count === 0) return;
    this.clearSlot(this.head);
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

  /** Number of Internal ops queued (Meridian's own queries: state sync, deferred BEGIN …). */
  countInternal(): number {
    let n = 0;
    for (let k = 0; k < this.count; k++) if (this.kinds[(this.head + k) % this.kinds.length] === Op.Internal) n++;
    return n;
  }

  /** Whether a queued Query or Execute (not answered yet) ends a transaction with COMMIT or PREPARE TRANSACTION. */
  hasPendingCommit(): boolean {
    for (let k = 0; k < this.count; k++) {
      const c = this.classes[(this.head + k) % this.kinds.length];
      if (c === null || c === undefined) continue;
      for (const e of c.effects) if (e.type === 'tx-end' && e.end !== 'rollback') return true;
    }
    return false;
  }

  /**
   * Whether each queued op that commits (see hasPendingCommit) is that one statement alone, not one
   * of several in a simple Query: then no statement of its op has completed while it is queued.
   */
  pendingCommitsStandAlone(): boolean {
    for (let k = 0; k < this.count; k++) {
      const c = this.classes[(this.head + k) % this.kinds.length];
      if (c === null || c === undefined) continue;
      for (const e of c.effects) if (e.type === 'tx-end' && e.end !== 'rollback' && c.statements !== 1) return false;
    }
    return true;
  }

  /** Drops every op (their payloads released). */
  clear(): void {
    for (let k = 0; k < this.count; k++) this.clearSlot((this.head + k) % this.kinds.length);
    this.head = 0;
    this.count = 0;
  }

  private clearSlot(i: number): void {
    this.frames[i] = null;
    this.callbacks[i] = null;
    this.classes[i] = null;
    this.names[i] = null;
  }

  private grow(): void {
    const cap = this.kinds.length * 2;
    const kinds = new Uint8Array(cap);
    const modes = new Uint8Array(cap);
    const frames = new Array<Buffer | null>(cap).fill(null);
    const callbacks = new Array<InternalDone | null>(cap).fill(null);
    const classes = new Array<Classification | null>(cap).fill(null);
    const names = new Array<string | null>(cap).fill(null);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) % this.kinds.length;
      kinds[k] = this.kinds[i]!;
      modes[k] = this.modes[i]!;
      frames[k] = this.frames[i]!;
      callbacks[k] = this.callbacks[i]!;
      classes[k] = this.classes[i]!;
      names[k] = this.names[i]!;
    }
    this.kinds = kinds;
    this.modes = modes;
    this.frames = frames;
    this.callbacks = callbacks;
    this.classes = classes;
    this.names = names;
    this.head = 0;
  }
}
