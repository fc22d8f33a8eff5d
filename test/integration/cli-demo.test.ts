// `meridian demo` (the CLI subcommand, not only `npm run demo`): it starts the three-region
// cluster with Meridian in front, prints a DSN that works, and on SIGTERM to the CLI process it
// tears everything down and exits 0, leaving no PostgreSQL process of the demo behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { waitFor } from '../support/cluster.js';

let cli: ChildProcess | null = null;

afterAll(() => {
  if (cli !== null && cli.exitCode === null) cli.kill('SIGKILL');
});

/** PIDs of processes whose command line mentions `text` (from /proc: no procps needed). */
function pidsMentioning(text: string): string[] {
  const pids: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) pids.push(pid);
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

describe('meridian demo', () => {
  it('serves the printed DSN, then stops cleanly on SIGTERM', async () => {
    let out = '';
    cli = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'demo', '--no-traffic'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cli.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    cli.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli!.on('exit', (code) => resolve(code)));

    const dsn = await waitFor(() => /psql "(postgres:\/\/[^"]+)"/.exec(out)?.[1], {
      timeoutMs: 150_000,
      intervalMs: 200,
      what: () => `the demo's DSN; output so far:\n${out}`,
    });
    const dataDir = /-D (\S+)/.exec(out)?.[1];
    expect(dataDir, out).toBeDefined();
    expect(pidsMentioning(dataDir!).length, 'the demo runs PostgreSQL').toBeGreaterThan(0);

    const c = new pg.Client(dsn);
    c.on('error', () => {});
    await c.connect();
    expect((await c.query('select 40 + 2 as x')).rows[0].x).toBe(42);
    await c.end();

    cli.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('stopping');
    await waitFor(() => pidsMentioning(dataDir!).length === 0, { timeoutMs: 30_000, what: `no process left for ${dataDir}` });
  }, 240_000);
});
