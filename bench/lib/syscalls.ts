// Bench support (--syscalls): system calls per transaction of each proxy, counted by `strace -c` on its
// whole process tree during one extra, unrecorded pgbench run with a fixed number of transactions.
// strace slows the proxy a lot, so these runs measure counts only, never time. Reads and writes per
// transaction are the first thing to compare: a proxy cannot do better than one read and one write per
// message batch in each direction (2 + 2 for a simple-protocol round trip).
import { existsSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pgbenchArgs, type QueryMode } from './pgbench.js';
import { BENCH_PASSWORD, pgTool } from './postgres.js';
import { run, sleep } from './proc.js';
import { processTree } from './procstat.js';

export interface SyscallCounts {
  phase: string;
  target: string;
  workload: string;
  clients: number;
  transactions: number;
  perTx: { reads: number; writes: number; poll: number; futex: number; other: number; total: number };
  top: { name: string; perTx: number }[];
}

const READS = new Set(['read', 'readv', 'recvfrom', 'recvmsg', 'recvmmsg']);
const WRITES = new Set(['write', 'writev', 'sendto', 'sendmsg', 'sendmmsg']);
const POLL = new Set(['epoll_wait', 'epoll_pwait', 'epoll_pwait2', 'poll', 'ppoll', 'select', 'pselect6', 'epoll_ctl']);

export async function straceAvailable(): Promise<boolean> {
  const r = await run('strace', ['-V'], { timeoutMs: 5000 }).catch(() => null);
  return r !== null && r.code === 0;
}

/** Parses `strace -c` output: syscall name → calls. */
function parseSummary(text: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const line of text.split('\n')) {
    // % time  seconds  usecs/call  calls  [errors]  syscall
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^\d/.test(f[0] ?? '') || f[f.length - 1] === 'total') continue;
    const name = f[f.length - 1]!;
    const n = Number(f[3]);
    if (Number.isFinite(n)) calls.set(name, (calls.get(name) ?? 0) + n);
  }
  return calls;
}

export interface SyscallRunSpec {
  phase: string;
  target: string;
  proxyPid: number;
  port: number;
  workload: string;
  mode: QueryMode;
  builtin?: 'select-only' | 'tpcb-like';
  files?: readonly { path: string; weight: number }[];
  clients: number;
  txPerClient: number;
  outDir: string;
}

export async function countSyscalls(spec: SyscallRunSpec): Promise<SyscallCounts | string> {
  const pids = processTree(spec.proxyPid);
  const out = join(spec.outDir, `strace-${spec.phase}-${spec.target}.txt`);
  const tracer = spawn('strace', ['-c', '-f', '-o', out, ...pids.flatMap((p) => ['-p', String(p)])], { stdio: 'ignore', detached: true });
  await sleep(500 + pids.length * 5); // attaching takes a moment per process
  const args = pgbenchArgs(spec, ['-t', String(spec.txPerClient)]);
  const r = await run(pgTool('pgbench'), args, {
    env: { ...process.env, PGPASSWORD: BENCH_PASSWORD, PGSSLMODE: 'disable', PGGSSENCMODE: 'disable' },
    timeoutMs: 120_000,
  });
  tracer.kill('SIGINT');
  await Promise.race([new Promise((res) => tracer.on('exit', res)), sleep(10_000)]);
  if (tracer.exitCode === null) tracer.kill('SIGKILL');
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1]);
  if (r.code !== 0 || !(processed > 0)) return `pgbench failed under strace: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`;
  if (!existsSync(out)) return 'strace wrote no summary';
  const calls = parseSummary(readFileSync(out, 'utf8'));
  let reads = 0;
  let writes = 0;
  let poll = 0;
  let futex = 0;
  let other = 0;
  for (const [name, n] of calls) {
    if (READS.has(name)) reads += n;
    else if (WRITES.has(name)) writes += n;
    else if (POLL.has(name)) poll += n;
    else if (name === 'futex') futex += n;
    else other += n;
  }
  const per = (n: number) => n / processed;
  return {
    phase: spec.phase,
    target: spec.target,
    workload: spec.workload,
    clients: spec.clients,
    transactions: processed,
    perTx: { reads: per(reads), writes: per(writes), poll: per(poll), futex: per(futex), other: per(other), total: per(reads + writes + poll + futex + other) },
    top: [...calls]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([name, n]) => ({ name, perTx: per(n) })),
  };
}
