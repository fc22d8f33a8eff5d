// Bench support: a description of the machine and software a run measured, for the report.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { run } from './proc.js';
import { pgTool } from './postgres.js';

export interface MachineInfo {
  hostname: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  loadAvgStart: readonly number[];
  loadAvgEnd: readonly number[];
  versions: Record<string, string>;
  git: { commit: string; dirty: boolean } | null;
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 10_000 });
  if (r.code !== 0) return 'unavailable';
  return (r.stdout || r.stderr).trim().split('\n')[0] ?? 'unavailable';
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) return m[1].trim();
  } catch {
    /* not Linux */
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export async function describeMachine(repoRoot: string): Promise<MachineInfo> {
  const [postgres, pgbench, pgbouncer, pgpool, commit, status] = await Promise.all([
    firstLine(pgTool('postgres'), ['--version']),
    firstLine(pgTool('pgbench'), ['--version']),
    firstLine('/usr/sbin/pgbouncer', ['--version']),
    firstLine('/usr/sbin/pgpool', ['--version']),
    run('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { timeoutMs: 10_000 }),
    run('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'src'], { timeoutMs: 10_000 }),
  ]);
  return {
    hostname: os.hostname(),
    cpus: os.availableParallelism(),
    cpuModel: cpuModel(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    loadAvgStart: os.loadavg().map((n) => Math.round(n * 100) / 100),
    loadAvgEnd: [],
    versions: { node: process.version, postgres, pgbench, pgbouncer, pgpool },
    git: commit.code === 0 ? { commit: commit.stdout.trim(), dirty: status.stdout.trim().length > 0 } : null,
  };
}
