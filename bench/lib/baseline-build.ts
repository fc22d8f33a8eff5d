// Bench support: --baseline REV builds an earlier commit of Meridian beside the current one, so both
// run as targets of the same run, interleaved round by round ("Meridian at REV" and "Meridian"): a
// slowdown between two commits shows up within one run on one machine, not across noisy runs.
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { run, tail } from './proc.js';

export interface Baseline {
  /** A directory with the commit's src/ and its build in dist/. */
  readonly repoRoot: string;
  /** The abbreviated commit, for labels. */
  readonly commit: string;
}

/** Exports REV's tree into root/baseline, links this checkout's node_modules and builds it. */
export async function buildBaseline(repo: string, rev: string, root: string): Promise<Baseline> {
  const parsed = await run('git', ['rev-parse', '--short', `${rev}^{commit}`], { cwd: repo, timeoutMs: 10_000 });
  if (parsed.code !== 0) throw new Error(`--baseline ${rev}: not a commit (${tail(parsed.stderr, 1)})`);
  const commit = parsed.stdout.trim();
  const dir = join(root, 'baseline');
  mkdirSync(dir, { recursive: true });
  const extract = await run('sh', ['-c', `git -C "${repo}" archive "${commit}" | tar -x -C "${dir}"`], { cwd: repo, timeoutMs: 60_000 });
  if (extract.code !== 0) throw new Error(`--baseline ${rev}: git archive failed (${tail(extract.stderr, 2)})`);
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  const t0 = Date.now();
  const build = await run(join(repo, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: dir, timeoutMs: 300_000 });
  if (!existsSync(join(dir, 'dist', 'cli.js'))) throw new Error(`--baseline ${rev}: build failed (${tail(build.stdout + build.stderr, 3)})`);
  console.log(`baseline ${commit} built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { repoRoot: dir, commit };
}
