// Per-request tracing marks (tracing: in the config): what a session notes while a request goes
// through it — when it was classified, routed (where and why: the words of EXPLAIN ROUTE), given
// a backend, sent, answered — for the tracer to turn into spans once it ends. Plain data, filled
// only when tracing is on and the request was sampled; the hot path otherwise sees one null check.

/** Epoch milliseconds with sub-millisecond precision (performance.timeOrigin + now()). */
export function traceNowMs(): number {
  return performance.timeOrigin + performance.now();
}

export class RequestTrace {
  classifiedMs = 0;
  routedMs = 0;
  attachedMs = 0;
  sentMs = 0;
  statementClass: string | null = null;
  classReason: string | null = null;
  intent: 'read' | 'write' | null = null;
  node: string | null = null;
  routeReason: string | null = null;
  /** Routed again (connect failure, refusal retry, backend lost before it was sent). */
  routes = 0;

  constructor(
    readonly sessionId: number,
    readonly startMs: number,
  ) {}
}

/** How a request ended: the server's ReadyForQuery (its transaction status), or Meridian's own error. */
export interface TraceEnd {
  readonly endMs: number;
  readonly txStatus: string | null;
  readonly sqlstate: string | null;
  readonly error: string | null;
}

/** Turns finished requests into spans (tracing/tracer.ts), or does nothing. */
export interface RequestTracer {
  /** Sampled: a new request gets a trace (null: not traced). */
  begin(sessionId: number): RequestTrace | null;
  end(t: RequestTrace, how: TraceEnd): void;
  shutdown(): Promise<void>;
}

export const NO_TRACING: RequestTracer = Object.freeze({
  begin: () => null,
  end: () => undefined,
  shutdown: () => Promise.resolve(),
});
