// Whether Meridian reads from a client socket after login. Three independent reasons stop it:
// the attached backend's socket is full (backpressure toward the server), the frames held behind
// a busy request are over their bound, and the client does not read what Meridian answered
// itself. Each reason is its own bit: the socket resumes only when none holds, so one reason
// ending (a backend drain, the held queue emptying) never lets a client past another. It also
// owns the wait for the backend socket's 'drain' that ends BackendFull.

export const enum PauseReason {
  /** The attached backend's socket did not take all that was written (waiting for its 'drain'). */
  BackendFull = 1,
  /** Frames held behind a busy request are over MAX_HELD_BYTES. */
  HeldFull = 2,
  /** Meridian's own replies to the client are over MAX_CLIENT_BACKLOG_BYTES, unread. */
  ClientBacklog = 4,
}

export interface PausableSocket {
  pause(): unknown;
  resume(): unknown;
}

/** A backend socket: it says 'drain' once it took what it had queued. */
export interface DrainingSocket {
  once(event: 'drain', fn: () => void): unknown;
  off(event: 'drain', fn: () => void): unknown;
}

export class ClientFlow {
  private reasons = 0;
  /** The backend socket whose 'drain' ends BackendFull. */
  private drainOn: DrainingSocket | null = null;
  private readonly onDrain = (): void => {
    this.drainOn = null;
    this.release(PauseReason.BackendFull);
  };

  constructor(private socket: PausableSocket) {}

  /** The backend's socket is full: stop reading the client until that socket drains. */
  waitForDrain(backend: DrainingSocket): void {
    this.hold(PauseReason.BackendFull);
    if (this.drainOn === backend) return;
    this.drainOn?.off('drain', this.onDrain);
    this.drainOn = backend;
    backend.once('drain', this.onDrain);
  }

  /** The session let go of that backend (released, lost, closed): its drain no longer holds the client. */
  forgetBackend(backend: DrainingSocket | null = this.drainOn): void {
    if (backend === null || backend !== this.drainOn) return;
    backend.off('drain', this.onDrain);
    this.drainOn = null;
    this.release(PauseReason.BackendFull);
  }

  /** The socket to control from now on (the startup phase may swap in a TLS socket). */
  setSocket(socket: PausableSocket): void {
    this.socket = socket;
  }

  /** Stops reading for `reason` (idempotent). */
  hold(reason: PauseReason): void {
    if (this.reasons === 0) this.socket.pause();
    this.reasons |= reason;
  }

  /** `reason` no longer holds; reading resumes when no other does. */
  release(reason: PauseReason): void {
    if ((this.reasons & reason) === 0) return;
    this.reasons &= ~reason;
    if (this.reasons === 0) this.socket.resume();
  }

  isHeld(reason: PauseReason): boolean {
    return (this.reasons & reason) !== 0;
  }

  get isPaused(): boolean {
    return this.reasons !== 0;
  }
}
