// Test support: PostgreSQL's own regression suite (pg_regress, installcheck mode) against any
// address — a node directly or Meridian in front of it. Finds the tree .ci/pg-regress-setup.sh
// prepared, creates the database and superuser the suite needs as `make installcheck` would, runs
// the parallel schedule and parses pg_regress's per-test results.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { run, type RunResult } from './proc.js';
import { mkdirOwned } from './workspace.js';

/** Where .ci/pg-regress-setup.sh puts the tree unless told otherwise. */
export const REGRESS_DIR_ENV = 'MERIDIAN_PG_REGRESS_DIR';

export interface RegressTree {
  version: string;
  /** The version of the source the suite came from: the server's, or another of its major when the mirror lacked that one. */
  sourceVersion: string;
  /** src/test/regress of the unpacked source package (sql/, expected/, data/, schedules) */
  inputDir: string;
  /** regress.so, refint.so, autoinc.so (pg_regress --dlpath) */
  libDir: string;
  pgRegress: string;
  bindir: string;
}

/** The prepared tree, or why there is none (the test prints it and skips, or fails in CI). */
export function findRegressTree(repoRoot: string): RegressTree | { missing: string } {
  const dir = process.env[REGRESS_DIR_ENV] ?? join(repoRoot, '.tmp', 'pg-regress');
  const ready = join(dir, 'READY');
  if (!existsSync(ready))
    return { missing: `${ready} not found: run .ci/pg-regress-setup.sh (as root; it installs the source package and builds the suite's libraries)` };
  const kv = new Map(
    readFileSync(ready, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
  );
  const tree: RegressTree = {
    version: kv.get('version') ?? '?',
    sourceVersion: kv.get('source') ?? kv.get('version') ?? '?',
    inputDir: join(kv.get('src') ?? '', 'src/test/regress'),
    libDir: kv.get('lib') ?? '',
    pgRegress: kv.get('pg_regress') ?? '',
    bindir: kv.get('bindir') ?? '',
  };
  for (const f of [join(tree.inputDir, 'parallel_schedule'), join(tree.libDir, 'regress.so'), tree.pgRegress, join(tree.bindir, 'psql')]) {
    if (!existsSync(f)) return { missing: `${f} not found (named by ${ready}): run .ci/pg-regress-setup.sh again` };
  }
  return tree;
}

/** The tests of the parallel schedule, in order (`test: a b c` lines). */
export function scheduleTests(tree: RegressTree): string[] {
  return readFileSync(join(tree.inputDir, 'parallel_schedule'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('test:'))
    .flatMap((l) => l.slice(5).trim().split(/\s+/))
    .filter((t) => t !== '');
}

/** The superuser the suite runs as: not the bootstrap superuser, as a real deployment's would be. */
export const REGRESS_USER = { name: 'meridian_regress', password: 'meridian-regress-pw' } as const;

/**
 * What pg_regress does before the tests when it owns the installation (it skips this with
 * --use-existing): the database from template0 with C messages and formats, and the role.
 */
export async function prepareRegressDatabase(node: { host: string; port: number }, dbname: string): Promise<void> {
  const c = new pg.Client({ host: node.host, port: node.port, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    const role = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [REGRESS_USER.name]);
    if (role.rowCount === 0) await c.query(`CREATE ROLE ${REGRESS_USER.name} SUPERUSER LOGIN PASSWORD '${REGRESS_USER.password}'`);
    await c.query(`DROP DATABASE IF EXISTS "${dbname}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${dbname}" TEMPLATE=template0 OWNER ${REGRESS_USER.name}`);
    for (const [k, v] of [
      ['lc_messages', 'C'],
      ['lc_monetary', 'C'],
      ['lc_numeric', 'C'],
      ['lc_time', 'C'],
      ['bytea_output', 'hex'],
      ['timezone_abbreviations', 'Default'],
    ]) {
      await c.query(`ALTER DATABASE "${dbname}" SET ${k} TO '${v}'`);
    }
  } finally {
    await c.end().catch(() => {});
  }
}

/** Drops what the suite leaves behind cluster-wide (its regress_* roles, tablespaces, databases) so another run can start clean. */
export async function cleanRegressLeftovers(node: { host: string; port: number }): Promise<void> {
  const c = new pg.Client({ host: node.host, port: node.port, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    const dbs = await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'regression%'`);
    for (const { datname } of dbs.rows) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    const tss = await c.query<{ spcname: string }>(`SELECT spcname FROM pg_tablespace WHERE spcname LIKE 'regress%'`);
    for (const { spcname } of tss.rows) await c.query(`DROP TABLESPACE IF EXISTS "${spcname}"`);
    const roles = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'regress%'`);
    for (const { rolname } of roles.rows) await c.query(`DROP ROLE IF EXISTS "${rolname}"`);
  } finally {
    await c.end().catch(() => {});
  }
}

export type RegressStatus = 'ok' | 'failed' | 'ignored';

export interface RegressRun {
  label: string;
  results: Map<string, RegressStatus>;
  failed: string[];
  passed: number;
  durationMs: number;
  /** regression.diffs, '' when every test passed */
  diffs: string;
  /** the per-run outputs kept after the cluster is gone (regression.out, regression.diffs) */
  keptIn: string;
  raw: RunResult;
}

export interface RegressTarget {
  label: string;
  host: string;
  port: number;
  dbname: string;
  /** where pg_regress writes results/ (the server writes COPY files there: owned by its OS user) */
  workDir: string;
  /** where regression.out / regression.diffs are copied to for reading after the run */
  keepDir: string;
  /** pg_regress --max-connections: how many tests of a parallel group run at once */
  maxConnections: number;
  timeoutMs: number;
}

/** pg_regress's result lines: `test name ... ok  12 ms`, `     name ... FAILED  12 ms`, `failed (ignored)`. */
const RESULT_LINE = /^(?:test\s+|\s+)(\S+)\s+\.\.\.\s+(ok|FAILED|failed \(ignored\))/;

export function parseRegressOutput(out: string): Map<string, RegressStatus> {
  const results = new Map<string, RegressStatus>();
  for (const line of out.split('\n')) {
    const m = RESULT_LINE.exec(line);
    if (!m) continue;
    results.set(m[1]!, m[2] === 'ok' ? 'ok' : m[2] === 'FAILED' ? 'failed' : 'ignored');
  }
  return results;
}

/** Runs the parallel schedule in installcheck mode (--use-existing) against `target` as REGRESS_USER. */
export async function runPgRegress(tree: RegressTree, target: RegressTarget): Promise<RegressRun> {
  rmSync(target.workDir, { recursive: true, force: true });
  mkdirOwned(target.workDir);
  mkdirOwned(join(target.workDir, 'results'));
  const env: NodeJS.ProcessEnv = { ...process.env, PGPASSWORD: REGRESS_USER.password, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '30' };
  // as `make installcheck` runs it: the environment's own libpq settings must not leak in
  for (const k of [
    'PGOPTIONS',
    'PGDATABASE',
    'PGUSER',
    'PGHOST',
    'PGPORT',
    'PGSERVICE',
    'PGCLIENTENCODING',
    'PGDATESTYLE',
    'PGTZ',
    'LANG',
    'LC_ALL',
    'LC_MESSAGES',
  ])
    delete env[k];
  const started = performance.now();
  const raw = await run(
    tree.pgRegress,
    [
      `--inputdir=${tree.inputDir}`,
      `--outputdir=${target.workDir}`,
      `--bindir=${tree.bindir}`,
      `--dlpath=${tree.libDir}`,
      `--schedule=${join(tree.inputDir, 'parallel_schedule')}`,
      '--use-existing',
      `--host=${target.host}`,
      `--port=${target.port}`,
      `--user=${REGRESS_USER.name}`,
      `--dbname=${target.dbname}`,
      `--max-connections=${target.maxConnections}`,
      '--max-concurrent-tests=20',
    ],
    { env, timeoutMs: target.timeoutMs, cwd: target.workDir },
  );
  const durationMs = performance.now() - started;
  const results = parseRegressOutput(raw.stdout);
  mkdirSync(target.keepDir, { recursive: true });
  let diffs = '';
  for (const f of ['regression.out', 'regression.diffs']) {
    const from = join(target.workDir, f);
    if (!existsSync(from)) continue;
    copyFileSync(from, join(target.keepDir, f));
    if (f === 'regression.diffs') diffs = readFileSync(from, 'utf8');
  }
  const failed = [...results].filter(([, s]) => s === 'failed').map(([t]) => t);
  return {
    label: target.label,
    results,
    failed,
    passed: [...results.values()].filter((s) => s === 'ok').length,
    durationMs,
    diffs,
    keptIn: target.keepDir,
    raw,
  };
}

/** The hunks of regression.diffs for one test (pg_regress heads each file's diff with `diff -U3 …/expected/<test>.out`). */
export function diffOf(diffs: string, test: string): string {
  const parts = diffs.split(/^(?=diff )/m);
  return parts.filter((p) => new RegExp(`/expected/${test}(_\\d+)?\\.out `).test(p.split('\n')[0] ?? '')).join('');
}

/** A test's diff without its header lines (paths and times): equal when two runs failed the same way. */
export function diffBody(diffs: string, test: string): string {
  return diffOf(diffs, test)
    .split('\n')
    .filter((l) => !/^(diff |--- |\+\+\+ )/.test(l))
    .join('\n');
}

/**
 * Tests whose outcome through Meridian differs from the direct run: another status, or both failed
 * with different diffs. Each with a short note.
 */
export function differences(direct: RegressRun, other: RegressRun): Map<string, string> {
  const out = new Map<string, string>();
  for (const [test, st] of direct.results) {
    const got = other.results.get(test);
    if (got === undefined) out.set(test, 'did not run');
    else if (got !== st) out.set(test, `${got} (direct: ${st})`);
    else if (st === 'failed' && diffBody(direct.diffs, test) !== diffBody(other.diffs, test)) out.set(test, 'failed differently from the direct run');
  }
  for (const test of other.results.keys()) if (!direct.results.has(test)) out.set(test, 'not in the direct run');
  return out;
}

/** One line per run: `direct: 216/217 passed in 95 s; failed: sequence`. */
export function summarize(r: RegressRun): string {
  const total = r.results.size;
  return `${r.label}: ${r.passed}/${total} passed in ${(r.durationMs / 1000).toFixed(0)} s${r.failed.length ? `; failed: ${r.failed.join(', ')}` : ''}`;
}
