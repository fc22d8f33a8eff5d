// Fault suite support: the load (pgbench through Meridian, bounded by -T and a kill timer), the
// fresh-client probe (one bounded attempt: an answer, an error or a hang), and the recovery wait
// built from it. Owns the pgbench processes it starts (reaped by runPgbench) and the probe clients.
import pg from 'pg';
import type { PgNode } from '../../support/cluster.js';
import { TEST_USERS } from '../../support/cluster.js';
import { runPgbench } from '../../support/proc.js';

/** The table the write probe updates (one row, no contention with pgbench's rows). */
export const PROBE_TABLE = 'fault_probe';

/** pgbench tables (scale 1) and the probe table on the primary, usable by the app user. */
export async function initLoadTables(primary: PgNode): Promise<void> {
  const r = await runPgbench(['-h', primary.host, '-p', String(primary.port), '-U', 'postgres', '-i', '-s', '1', '-q', 'app'], {}, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`pgbench -i: ${r.stderr}`);
  await primary.query(`CREATE TABLE ${PROBE_TABLE}(id int PRIMARY KEY, n bigint NOT NULL); INSERT INTO ${PROBE_TABLE} VALUES (1, 0)`);
  await primary.query(`GRANT ALL ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history, ${PROBE_TABLE} TO app`);
}

export interface LoadResult {
  code: number | null;
  timedOut: boolean;
  wallMs: number;
  processed: number;
  /** Clients pgbench reports as aborted (it stops a client on its first error). */
  abortedClients: number;
  /** Lines of pgbench's stderr that report an error or an abort. */
  errorLines: number;
  /** The first few such lines, for the figures. */
  sampleErrors: string[];
}

export interface LoadSpec {
  port: number;
  seconds: number;
  clients?: number;
  /** pgbench is killed after this long (a hang shows up as timedOut, never as a stuck test). */
  killAfterMs: number;
}

/** Starts pgbench (select-only and tpcb-like, half each) through Meridian; resolves when it ends. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const clients = spec.clients ?? 8;
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(spec.port),
    '-U',
    'app',
    '-n',
    '-c',
    String(clients),
    '-j',
    '2',
    '-T',
    String(spec.seconds),
    '-b',
    'select-only@1',
    '-b',
    'tpcb-like@1',
    'app',
  ];
  const r = await runPgbench(args, { PGPASSWORD: TEST_USERS.app.password, PGCONNECT_TIMEOUT: '5' }, { timeoutMs: spec.killAfterMs });
  const errors = r.stderr.split('\n').filter((l) => /error|abort|fatal/i.test(l));
  return {
    code: r.code,
    timedOut: r.timedOut,
    wallMs: r.durationMs,
    processed: Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? 0),
    abortedClients: errors.filter((l) => /client \d+ .*aborted/.test(l)).length,
    errorLines: errors.length,
    sampleErrors: errors.slice(0, 3).map((l) => l.slice(0, 160)),
  };
}

export type ProbeOutcome = { kind: 'ok'; ms: number } | { kind: 'error'; ms: number; message: string } | { kind: 'hang'; ms: number };

/**
 * One fresh client through Meridian: connect (SCRAM), run `sql`, disconnect. Bounded by timeoutMs
 * end to end: no answer by then is a hang.
 */
export async function probeOnce(port: number, sql: string, timeoutMs: number): Promise<ProbeOutcome> {
  const started = Date.now();
  const c = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'app',
    password: TEST_USERS.app.password,
    database: 'app',
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  c.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((r) => (timer = setTimeout(() => r('hang'), timeoutMs + 500)));
  const attempt = (async () => {
    await c.connect();
    await c.query(sql);
  })().then(
    () => 'ok' as const,
    (e: Error) => e,
  );
  const outcome = await Promise.race([attempt, hang]);
  clearTimeout(timer);
  void c.end().catch(() => {});
  const ms = Date.now() - started;
  if (outcome === 'ok') return { kind: 'ok', ms };
  // Only our own deadline or pg's client-side timeouts are a hang; an error Meridian sent (even one
  // about a timeout of its own, e.g. a backend connect timeout) is an answer.
  if (outcome === 'hang' || /^(Query read timeout|Connection terminated due to connection timeout|timeout expired)$/.test(outcome.message))
    return { kind: 'hang', ms };
  return { kind: 'error', ms, message: outcome.message };
}

/** A write through Meridian (the probe row): answered only when writes are routable again. */
export const WRITE_PROBE = `UPDATE ${PROBE_TABLE} SET n = n + 1 WHERE id = 1`;

export interface Recovery {
  /** From `sinceMs` to the first successful probe, or null when the deadline passed. */
  recoveredMs: number | null;
  attempts: number;
  /** Probes that got no answer at all within their bound. */
  hangs: number;
  lastError: string | null;
}

/** Probes every 100 ms until one succeeds (or deadlineMs passes); each probe is bounded. */
export async function waitRecovered(port: number, sinceMs: number, deadlineMs: number, sql = WRITE_PROBE, probeTimeoutMs = 3000): Promise<Recovery> {
  let attempts = 0;
  let hangs = 0;
  let lastError: string | null = null;
  while (Date.now() < sinceMs + deadlineMs) {
    attempts++;
    const p = await probeOnce(port, sql, probeTimeoutMs);
    if (p.kind === 'ok') return { recoveredMs: Date.now() - sinceMs, attempts, hangs, lastError };
    if (p.kind === 'hang') hangs++;
    else lastError = p.message;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { recoveredMs: null, attempts, hangs, lastError };
}
