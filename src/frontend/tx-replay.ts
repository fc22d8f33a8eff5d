// Transaction replay (routing.transaction_replay): what a session records of its open
// transaction so it can run it again on another backend when its own is lost before COMMIT.
// The recording starts with each request taken outside a transaction and holds (a) a copy of
// every client frame the session took since then and (b) a running digest of every frame that
// went to the client, with a checkpoint (frames so far, digest) at each ReadyForQuery. A request
// that ends outside a transaction starts the next recording afresh, so only an open transaction
// (a deferred BEGIN included) is ever kept.
//
// Replay feeds the recorded frames through the session again, as if the client had just sent
// them, while this tap swallows what they produce: each frame is digested again and, at each
// ReadyForQuery, compared with the original's checkpoint. Once as many frames as the client had
// received went by with the same digest, the replay has caught up: the tap lets everything after
// through and the transaction goes on. A difference (a row, a command tag, an error, one frame
// more or less) is a mismatch: the session fails the transaction. No I/O here; the session acts.
//
// What the digest covers: every frame but ParameterStatus, NoticeResponse and
// NotificationResponse (asynchronous or informational); of a RowDescription its column names and
// formats (table and type OIDs differ between the nodes of a logical cluster); of an
// ErrorResponse its SQLSTATE; of a ParameterDescription its count.

import { createHash, type Hash } from 'node:crypto';
import { BackendCode } from '../protocol/codes.js';

/** Replays of one transaction (its backend lost again while replaying) before it fails. */
export const MAX_REPLAY_ATTEMPTS = 3;

interface Checkpoint {
  readonly count: number;
  readonly digest: string;
}

/** What the client had received when the backend was lost: the replay must produce the same. */
interface Expectation {
  readonly codes: readonly number[];
  readonly frames: readonly Buffer[];
  readonly checkpoints: readonly Checkpoint[];
  readonly count: number;
  readonly digest: string;
  attempts: number;
}

/** Why a transaction could not be replayed (metrics, logs). */
export type ReplayRefusal = 'too-large' | 'attempts' | 'nothing-recorded';

const enum Mode {
  /** Recording: frames pass, digested. */
  Live = 0,
  /** Replaying: frames are swallowed and compared until the replay catches up. */
  CatchUp = 1,
  /** The replay differed: everything is swallowed until the session closes. */
  Failed = 2,
}

export interface ReplayEvents {
  /** The replay produced what the client had received: the transaction goes on. */
  caughtUp(): void;
  /** It did not: `why` says where. */
  mismatch(why: string): void;
}

const UNCOUNTED_PARAMETER_STATUS = BackendCode.ParameterStatus;
const UNCOUNTED_NOTICE = 0x4e; // 'N'
const UNCOUNTED_NOTIFICATION = 0x41; // 'A'

export class TxRecording {
  private codes: number[] = [];
  private frames: Buffer[] = [];
  private bytes = 0;
  /** More than maxBytes was sent since the recording began: this transaction cannot be replayed. */
  private isTooLarge = false;
  private hash: Hash = createHash('sha256');
  private count = 0;
  private checkpoints: Checkpoint[] = [];
  private mode = Mode.Live;
  private expect: Expectation | null = null;

  constructor(
    public maxBytes: number,
    private readonly events: ReplayEvents,
  ) {}

  /** Replaying, not caught up yet. */
  get isCatchingUp(): boolean {
    return this.mode === Mode.CatchUp;
  }

  /** A request begins outside a transaction: forget the previous one. */
  restart(): void {
    if (this.mode === Mode.CatchUp && this.count > 0) {
      // The replayed frames ended their transaction before reproducing what the client saw.
      return this.fail('the replayed transaction ended before it produced what the client had received');
    }
    this.clearInput();
    this.resetOutput();
  }

  private clearInput(): void {
    if (this.codes.length > 0) {
      this.codes = [];
      this.frames = [];
    }
    this.bytes = 0;
    this.isTooLarge = false;
  }

  private resetOutput(): void {
    if (this.count > 0 || this.checkpoints.length > 0) {
      this.hash = createHash('sha256');
      this.count = 0;
      this.checkpoints = [];
    }
  }

  /** A client frame the session took. Copied: the client's read buffer is reused. */
  recordInput(code: number, buf: Buffer, start: number, end: number): void {
    if (this.isTooLarge) return;
    this.bytes += end - start;
    if (this.bytes > this.maxBytes) {
      this.isTooLarge = true;
      this.codes = [];
      this.frames = [];
      return;
    }
    this.codes.push(code);
    this.frames.push(Buffer.from(buf.subarray(start, end)));
  }

  /**
   * The backend was lost in the transaction: returns the frames to feed through the session again
   * (the caller clears its request state first), or why it cannot be replayed. The recording
   * starts over (the replayed frames are recorded again) and the tap swallows until caught up.
   */
  beginReplay(): { codes: readonly number[]; frames: readonly Buffer[]; untaken: number } | ReplayRefusal {
    let exp = this.expect;
    // A replay lost before it caught up: the frames it had not fed through yet still wait at the
    // head of the session's queue (each one it took was recorded again); the caller drops them.
    let untaken = 0;
    if (exp !== null && this.mode === Mode.CatchUp) untaken = exp.codes.length - this.codes.length;
    else {
      if (this.isTooLarge) return 'too-large';
      if (this.count === 0 || this.codes.length === 0) return 'nothing-recorded';
      exp = {
        codes: this.codes,
        frames: this.frames,
        checkpoints: this.checkpoints,
        count: this.count,
        digest: this.hash.copy().digest('base64'),
        attempts: 0,
      };
    }
    if (untaken < 0) untaken = 0;
    if (exp.attempts >= MAX_REPLAY_ATTEMPTS) return 'attempts';
    exp.attempts++;
    this.expect = exp;
    this.mode = Mode.CatchUp;
    this.codes = [];
    this.frames = [];
    this.bytes = 0;
    this.isTooLarge = false;
    this.hash = createHash('sha256');
    this.count = 0;
    this.checkpoints = [];
    return { codes: exp.codes, frames: exp.frames, untaken };
  }

  /** Frames the original had sent to the client when it was lost. */
  get expectedFrames(): number {
    return this.expect?.count ?? 0;
  }

  /**
   * The client's writer asks about buf[start, end) (whole frames): returns the offset from which
   * it passes to the client (`end`: nothing passes). Live: everything passes, digested.
   */
  pass(buf: Buffer, start: number, end: number): number {
    if (this.mode === Mode.Failed) return end;
    // Catching up: nothing passes until the frame that catches up; the frames after it do.
    let passFrom = this.mode === Mode.CatchUp ? end : start;
    let pos = start;
    while (pos + 5 <= end) {
      const code = buf[pos]!;
      const next = pos + 1 + buf.readInt32BE(pos + 1);
      if (next > end) break;
      if (code !== UNCOUNTED_PARAMETER_STATUS && code !== UNCOUNTED_NOTICE && code !== UNCOUNTED_NOTIFICATION) {
        this.count++;
        digestFrame(this.hash, code, buf, pos, next);
        if (code === BackendCode.ReadyForQuery) this.checkpoint();
        if ((this.mode as Mode) === Mode.Failed) return end;
        if (this.mode === Mode.CatchUp && this.count === this.expect!.count) {
          if (this.hash.copy().digest('base64') !== this.expect!.digest) {
            this.fail(`the replay's first ${this.count} messages to the client differ from the original's`);
            return end;
          }
          this.mode = Mode.Live;
          this.expect = null;
          passFrom = next;
          this.events.caughtUp();
        }
      }
      pos = next;
    }
    return passFrom;
  }

  private checkpoint(): void {
    const digest = this.hash.copy().digest('base64');
    const i = this.checkpoints.length;
    this.checkpoints.push({ count: this.count, digest });
    const exp = this.expect;
    if (this.mode !== Mode.CatchUp || exp === null) return;
    const want = exp.checkpoints[i];
    if (want === undefined) {
      if (this.count < exp.count) this.fail(`the replay ended request ${i + 1} before producing what the client had received`);
      return;
    }
    if (want.count !== this.count || want.digest !== digest) this.fail(`request ${i + 1} of the transaction answered differently`);
  }

  private fail(why: string): void {
    this.mode = Mode.Failed;
    this.expect = null;
    this.events.mismatch(why);
  }
}

const ROW_FIELD_FIXED = 18; // table OID 4, column 2, type OID 4, type size 2, type modifier 4, format 2
const ERROR_CODE_FIELD = 0x43; // 'C'

/** Adds one frame to the digest (what of it counts: see the file's header). */
function digestFrame(h: Hash, code: number, buf: Buffer, start: number, end: number): void {
  switch (code) {
    case BackendCode.RowDescription: {
      const n = buf.readInt16BE(start + 5);
      h.update(buf.subarray(start, start + 7));
      let pos = start + 7;
      for (let i = 0; i < n && pos < end; i++) {
        const nul = buf.indexOf(0, pos);
        if (nul < 0 || nul + 1 + ROW_FIELD_FIXED > end) break;
        h.update(buf.subarray(pos, nul + 1)); // the name with its terminator
        h.update(buf.subarray(nul + 1 + 16, nul + 1 + ROW_FIELD_FIXED)); // the format
        pos = nul + 1 + ROW_FIELD_FIXED;
      }
      return;
    }
    case BackendCode.ErrorResponse: {
      h.update(buf.subarray(start, start + 1));
      let pos = start + 5;
      while (pos < end && buf[pos] !== 0) {
        const nul = buf.indexOf(0, pos + 1);
        if (nul < 0 || nul >= end) break;
        if (buf[pos] === ERROR_CODE_FIELD) h.update(buf.subarray(pos, nul));
        pos = nul + 1;
      }
      return;
    }
    case BackendCode.ParameterDescription:
      h.update(buf.subarray(start, Math.min(end, start + 7)));
      return;
    default:
      h.update(buf.subarray(start, end));
  }
}
