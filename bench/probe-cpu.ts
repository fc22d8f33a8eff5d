// Measures the CPU of a process that only probes (bench/probe-monitor-child.ts), from outside.
// The child is bundled to plain JS first (esbuild, as a build would): running it under the tsx
// loader would add the loader's own ~0.4% of a core.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCE = fileURLToPath(new URL('./probe-monitor-child.ts', import.meta.url));
const BUNDLE = `${ROOT}node_modules/.cache/meridian-bench/probe-monitor-child.mjs`;
const TICKS_PER_S = 100; // USER_HZ

function bundleChild(): string {
  const r = spawnSync(
    `${ROOT}node_modules/.bin/esbuild`,
    [SOURCE, '--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${BUNDLE}`, '--log-level=error'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`esbuild failed: ${r.stderr}`);
  return BUNDLE;
}

export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S; // utime + stime
}

/**
 * Starts a probing process for `configYaml`, waits until ready plus warmupMs, and returns its CPU
 * share (1 = one core) over windowMs.
 */
export async function measureProbeCpu(configYaml: string, windowMs: number, warmupMs = 2000): Promise<number> {
  const child = spawn(process.execPath, [bundleChild()], {
    env: { ...process.env, MERIDIAN_PROBE_CONFIG: configYaml },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`probe child exited (${code}) before ready`)));
    });
    await new Promise((r) => setTimeout(r, warmupMs)); // past start-up, module loading, JIT warm-up
    const pid = child.pid as number;
    const cpu0 = cpuSecondsOf(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, windowMs));
    return (cpuSecondsOf(pid) - cpu0) / ((performance.now() - t0) / 1000);
  } finally {
    child.kill('SIGTERM');
  }
}

/** Share of the machine's CPU time that was idle since `before` (from /proc/stat). */
export function hostIdleShare(before: readonly number[], after: readonly number[]): number {
  const total = after.reduce((a, v, i) => a + v - (before[i] ?? 0), 0);
  const idle = (after[3] ?? 0) - (before[3] ?? 0) + (after[4] ?? 0) - (before[4] ?? 0);
  return total > 0 ? idle / total : 0;
}

/** The aggregate "cpu" line of /proc/stat as numbers. */
export function hostCpuTicks(): number[] {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  return line.trim().split(/\s+/).slice(1).map(Number);
}
