// Per-request OpenTelemetry spans (tracing.enabled) through Meridian on a real primary + standby,
// collected with the SDK's in-memory exporter: each request is a `meridian.request` span with
// `classify`, `route` (the node and the reason, the words EXPLAIN ROUTE uses), `pool.wait` and
// `server` children; a statement inside a transaction goes to the backend the session holds (no
// route); a server error and a Meridian refusal mark the span as an error with their SQLSTATE.
// Off (the default), nothing is made.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { startPrimaryStandby, waitFor, type PhysicalCluster } from '../support/cluster.js';
import { adminRows, connectClient, startMeridian, type RunningMeridian } from '../helpers/meridian.js';

let cluster: PhysicalCluster;
let mer: RunningMeridian;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  cluster = await startPrimaryStandby({ standbys: 1 });
  await cluster.exec('create table tr_items(id int primary key); grant all on tr_items to public');
  await cluster.waitReplayed(60_000);
  mer = await startMeridian(cluster, { kind: 'physical', extraYaml: 'tracing: { enabled: true }', tracingExporter: exporter });
  await waitFor(() => mer.m.health.snapshot.nodes.every((n) => n.isUp && n.lagMs !== null), { timeoutMs: 60_000, what: 'nodes up' });
}, 120_000);

afterAll(async () => {
  await mer?.stop();
  await cluster?.stop();
});

/** The request spans finished since the last call (at least `n`: their export may lag a tick), each with its children by name. */
async function takeRequests(n = 0): Promise<Array<{ span: ReadableSpan; children: Map<string, ReadableSpan> }>> {
  if (n > 0)
    await waitFor(() => exporter.getFinishedSpans().filter((s) => s.name === 'meridian.request').length >= n, { timeoutMs: 5000, what: `${n} request spans` });
  const all = exporter.getFinishedSpans();
  exporter.reset();
  const id = (s: ReadableSpan) => s.spanContext().spanId;
  const parentOf = (s: ReadableSpan) => (s as unknown as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId;
  return all
    .filter((s) => s.name === 'meridian.request')
    .map((span) => ({ span, children: new Map(all.filter((c) => parentOf(c) === id(span)).map((c) => [c.name, c])) }));
}

const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;

describe('tracing', () => {
  it('an autocommit read: classify, route (node and reason as EXPLAIN ROUTE says), pool.wait, server, in order', async () => {
    const c = await connectClient(mer);
    try {
      await takeRequests();
      await c.query('select count(*) from tr_items');
      const reqs = await takeRequests(1);
      expect(reqs).toHaveLength(1);
      const { span, children } = reqs[0]!;
      expect([...children.keys()].sort()).toEqual(['classify', 'pool.wait', 'route', 'server']);
      expect(span.attributes['meridian.intent']).toBe('read');
      expect(span.attributes['meridian.class']).toBe('read');
      expect(span.attributes['meridian.node']).toBe('s1');
      const explain = await adminRows(mer.port, 'EXPLAIN ROUTE select count(*) from tr_items');
      const decision = explain.find((r) => r.field === 'decision')?.value;
      expect(children.get('route')!.attributes['meridian.route.reason']).toBe(decision);
      // The children lie within the request, in order.
      const start = ms(span.startTime);
      const end = ms(span.endTime);
      let prev = start;
      for (const name of ['classify', 'route', 'pool.wait', 'server']) {
        const ch = children.get(name)!;
        expect(ms(ch.startTime)).toBeGreaterThanOrEqual(prev - 0.01);
        expect(ms(ch.endTime)).toBeLessThanOrEqual(end + 0.01);
        prev = ms(ch.startTime);
      }
    } finally {
      await c.end();
    }
  });

  it('a transaction: its statements after the first go to the held backend; errors carry their SQLSTATE', async () => {
    const c = await connectClient(mer);
    try {
      await takeRequests();
      await c.query('begin');
      await c.query('insert into tr_items values (1) on conflict do nothing');
      await c.query('select 1');
      await c.query('commit');
      const reqs = await takeRequests(3);
      const routed = reqs.filter((r) => r.children.has('route'));
      expect(routed).toHaveLength(1);
      expect(routed[0]!.span.attributes['meridian.node']).toBe('primary');
      const held = reqs.filter((r) => !r.children.has('route') && r.children.has('server'));
      expect(held.length).toBeGreaterThanOrEqual(2); // select 1, commit
      for (const h of held) expect(h.span.attributes['meridian.route.reason']).toMatch(/holds/);
      await c.query('select * from tr_missing').catch(() => undefined);
      const failed = await takeRequests(1);
      expect(failed[0]!.span.status.code).toBe(2); // ERROR
      await c.query('/* meridian: node=nowhere */ select 1').catch(() => undefined);
      const refused = await takeRequests(1);
      expect(refused[0]!.span.status.code).toBe(2);
      expect(refused[0]!.span.attributes['db.response.status_code']).toMatch(/^[0-9A-Z]{5}$/);
    } finally {
      await c.end();
    }
  });

  it('off by default: no spans', async () => {
    const plain = new InMemorySpanExporter();
    const off = await startMeridian(cluster, { kind: 'physical', tracingExporter: plain });
    try {
      const c = await connectClient(off);
      await c.query('select 1');
      await c.end();
      expect(plain.getFinishedSpans()).toEqual([]);
    } finally {
      await off.stop();
    }
  });
});
