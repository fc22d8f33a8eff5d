// Runs the non-JavaScript driver workloads: the Python ones with Debian's python3 (which has
// python3-psycopg and python3-asyncpg; a python3 earlier on PATH may not), the JDBC one compiled
// with javac into a temp dir against Debian's libpostgresql-jdbc-java. Each prints one JSON object
// with its observations as the last line of stdout.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, runChecked, tail } from '../support/proc.js';
import type { Observation } from './workload.js';

export const DRIVERS_DIR = dirname(fileURLToPath(import.meta.url));
export const PYTHON = '/usr/bin/python3';
export const JDBC_JAR = '/usr/share/java/postgresql.jar';

export interface DriverReport {
  observations: Observation[];
  [key: string]: unknown;
}

function parseReport(stdout: string, what: string): DriverReport {
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    const r = JSON.parse(last) as DriverReport;
    r.observations ??= [];
    for (const o of r.observations) if (o.group === null) delete o.group;
    return r;
  } catch {
    throw new Error(`${what}: no JSON report on stdout:\n${tail(stdout, 20)}`);
  }
}

/** Runs test/drivers/<script> with Debian's python3; throws with the traceback on failure. */
export async function runPython(script: string, args: readonly string[], timeoutMs = 180_000): Promise<DriverReport> {
  const r = await run(PYTHON, [join(DRIVERS_DIR, script), ...args], { timeoutMs });
  if (r.code !== 0) throw new Error(`${script} ${r.timedOut ? 'timed out' : `exited with ${r.code}`}:\n${tail(r.stderr, 40)}\n${tail(r.stdout, 10)}`);
  return parseReport(r.stdout, script);
}

/** The Python modules a test needs, or the reason they cannot be imported. */
export async function pythonModules(...mods: string[]): Promise<string | null> {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = await run(PYTHON, ['-c', `import ${mods.join(', ')}`], { timeoutMs: 30_000 });
  return r.code === 0 ? null : r.stderr.trim();
}

export interface CompiledJava {
  classDir: string;
  cleanup(): void;
}

/** Compiles test/drivers/<name>.java against the JDBC driver into a fresh temp dir. */
export async function compileJava(name: string): Promise<CompiledJava> {
  const classDir = mkdtempSync(join(tmpdir(), 'meridian-jdbc-'));
  await runChecked('javac', ['-cp', JDBC_JAR, '-d', classDir, join(DRIVERS_DIR, `${name}.java`)], { timeoutMs: 180_000 });
  return { classDir, cleanup: () => rmSync(classDir, { recursive: true, force: true }) };
}

export async function runJava(compiled: CompiledJava, main: string, args: readonly string[], timeoutMs = 180_000): Promise<DriverReport> {
  const r = await run('java', ['-Xss512k', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', `${JDBC_JAR}:${compiled.classDir}`, main, ...args], {
    timeoutMs,
  });
  if (r.code !== 0) throw new Error(`${main} ${r.timedOut ? 'timed out' : `exited with ${r.code}`}:\n${tail(r.stderr, 40)}\n${tail(r.stdout, 10)}`);
  return parseReport(r.stdout, main);
}

/** Why the JDBC workload cannot run here, or null. */
export async function javaMissing(): Promise<string | null> {
  if (!existsSync(JDBC_JAR)) return `${JDBC_JAR} not found (libpostgresql-jdbc-java)`;
  const r = await run('javac', ['-version'], { timeoutMs: 30_000 }).catch((e: Error) => ({ code: 1, stderr: e.message }));
  return r.code === 0 ? null : `javac not usable: ${r.stderr}`;
}
