// OpenTelemetry spans per request (tracing.enabled, off by default): one `meridian.request` span
// with children `classify`, `route` (the node and the reason, in EXPLAIN ROUTE's words), `pool.wait`
// and `server` (from the send to the ReadyForQuery), built when the request ends from the marks a
// session noted (request-trace.ts). Exported over OTLP/HTTP when tracing.otlp_endpoint is set, or
// to an exporter the caller gives (tests: the SDK's in-memory exporter). The SDK is loaded only
// when tracing is on.

import type { TracingConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import type { RequestTrace, RequestTracer, TraceEnd } from './request-trace.js';

/** What tests may pass instead of OTLP: an exporter from @opentelemetry/sdk-trace. */
export interface TracingOverrides {
  readonly exporter?: unknown;
}

export async function startTracer(cfg: TracingConfig, logger: Logger, overrides: TracingOverrides = {}): Promise<RequestTracer> {
  const { NO_TRACING, RequestTrace } = await import('./request-trace.js');
  if (!cfg.enabled) return NO_TRACING;
  const api = await import('@opentelemetry/api');
  const sdk = await import('@opentelemetry/sdk-trace');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  let exporter = overrides.exporter as InstanceType<typeof sdk.InMemorySpanExporter> | undefined;
  let processor;
  if (exporter !== undefined) processor = new sdk.SimpleSpanProcessor({ exporter });
  else if (cfg.otlpEndpoint !== null) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    exporter = new OTLPTraceExporter({ url: cfg.otlpEndpoint, timeoutMillis: 5000 }) as never;
    processor = new sdk.BatchSpanProcessor({ exporter: exporter!, maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 1000 });
  } else {
    logger.warn({}, 'tracing.enabled without tracing.otlp_endpoint: spans are made and dropped');
    processor = new sdk.NoopSpanProcessor();
  }
  const provider = new sdk.TracerProvider({
    resource: resourceFromAttributes({ 'service.name': cfg.serviceName }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('meridian');
  const ratio = cfg.sampleRatio;
  const SpanStatusCode = api.SpanStatusCode;
  const child = (parent: ReturnType<typeof tracer.startSpan>, name: string, from: number, to: number, attrs: Record<string, string | number>) => {
    if (!(from > 0) || !(to >= from)) return;
    const ctx = api.trace.setSpan(api.context.active(), parent);
    tracer.startSpan(name, { startTime: from, attributes: attrs }, ctx).end(to);
  };
  logger.info({ endpoint: cfg.otlpEndpoint, sampleRatio: ratio }, 'tracing on');
  return {
    begin: (sessionId) => (ratio >= 1 || Math.random() < ratio ? new RequestTrace(sessionId, performance.timeOrigin + performance.now()) : null),
    end: (t: RequestTrace, how: TraceEnd) => {
      const attrs: Record<string, string | number> = { 'db.system.name': 'postgresql', 'meridian.session': t.sessionId };
      if (t.statementClass !== null) attrs['meridian.class'] = t.statementClass;
      if (t.intent !== null) attrs['meridian.intent'] = t.intent;
      if (t.node !== null) attrs['meridian.node'] = t.node;
      if (t.routeReason !== null) attrs['meridian.route.reason'] = t.routeReason;
      if (t.routes > 1) attrs['meridian.route.attempts'] = t.routes;
      if (how.txStatus !== null) attrs['meridian.tx_status'] = how.txStatus;
      if (how.sqlstate !== null) attrs['db.response.status_code'] = how.sqlstate;
      const span = tracer.startSpan('meridian.request', { startTime: t.startMs, kind: api.SpanKind.SERVER, attributes: attrs });
      if (how.error !== null) span.setStatus({ code: SpanStatusCode.ERROR, message: how.error });
      child(span, 'classify', t.startMs, t.classifiedMs, t.classReason !== null ? { 'meridian.class.reason': t.classReason } : {});
      if (t.routedMs > 0) {
        const r: Record<string, string | number> = {};
        if (t.node !== null) r['meridian.node'] = t.node;
        if (t.routeReason !== null) r['meridian.route.reason'] = t.routeReason;
        child(span, 'route', t.classifiedMs || t.startMs, t.routedMs, r);
      }
      if (t.attachedMs > 0 && t.routedMs > 0) child(span, 'pool.wait', t.routedMs, t.attachedMs, {});
      if (t.sentMs > 0) child(span, 'server', t.sentMs, how.endMs, t.node !== null ? { 'meridian.node': t.node } : {});
      span.end(how.endMs);
    },
    shutdown: () => provider.shutdown(),
  };
}
