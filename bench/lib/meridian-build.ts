// Bench support: makes sure Meridian's production build (dist/) is current before it is measured, and
// runs the microbenchmarks (bench/frame-decode.ts, bench/classify.ts, bench/route.ts) for --micro.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tail } from './proc.js';

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtimeMs(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export interface BuildState {
  /** null when dist/ is ready; otherwise why Meridian is skipped. */
  ready: string | null;
  detail: string;
}

/** Builds dist/ with `npm run build` when any src/ file is newer than dist/cli.js. */
export async function ensureMeridianBuild(repo: string, allowBuild: boolean): Promise<BuildState> {
  const cli = join(repo, 'dist', 'cli.js');
  const isStale = !existsSync(cli) || newestMtimeMs(join(repo, 'src')) > statSync(cli).mtimeMs;
  if (!isStale) return { ready: null, detail: 'dist/ up to date' };
  if (!allowBuild) {
    return existsSync(cli)
      ? { ready: null, detail: 'dist/ is older than src/ (--no-build): measuring it as it is' }
      : { ready: 'dist/cli.js is missing and --no-build was given', detail: 'not built' };
  }
  const t0 = Date.now();
  const startedMs = t0;
  const r = await run('npm', ['run', 'build'], { cwd: repo, timeoutMs: 300_000 });
  if (r.code !== 0) {
    const errors = (r.stdout + r.stderr).split('\n').filter((l) => /error TS|Error:/.test(l));
    const first = errors.slice(0, 3).join(' | ') || tail(r.stdout + r.stderr, 3);
    // tsc still emits on type errors: if it wrote dist/ now, measure that (the report says so);
    // a type error elsewhere (an unfinished command) need not stop the proxy from running.
    if (existsSync(cli) && statSync(cli).mtimeMs >= startedMs - 1000) {
      return { ready: null, detail: `npm run build reported ${errors.length} type errors (${first}); dist/ was emitted and is measured as is`.slice(0, 500) };
    }
    return { ready: `npm run build failed (${errors.length} errors): ${first}`.slice(0, 500), detail: 'build failed' };
  }
  return { ready: null, detail: `built with npm run build in ${((Date.now() - t0) / 1000).toFixed(1)} s` };
}

const MICRO = ['frame-decode.ts', 'classify.ts', 'route.ts', 'session-path.ts'];

/** Runs each microbenchmark that exists; prints and saves its output. */
export async function runMicro(repo: string): Promise<number> {
  const outputs: { file: string; code: number | null; output: string }[] = [];
  let failed = 0;
  for (const f of MICRO) {
    const path = join(repo, 'bench', f);
    if (!existsSync(path)) {
      console.log(`== bench/${f}: missing, skipped`);
      outputs.push({ file: f, code: null, output: 'missing' });
      continue;
    }
    console.log(`== bench/${f}`);
    const r = await run(process.execPath, ['--import', 'tsx', path], { cwd: repo, timeoutMs: 180_000 });
    const output = (r.stdout + (r.code === 0 ? '' : r.stderr)).trimEnd();
    console.log(output);
    if (r.code !== 0) failed++;
    outputs.push({ file: f, code: r.code, output });
  }
  const dir = join(repo, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().slice(0, 10)}-micro.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, outputs }, null, 2) + '\n');
  console.log(`\nsaved ${file}`);
  return failed > 0 ? 1 : 0;
}
