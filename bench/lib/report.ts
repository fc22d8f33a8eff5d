// Bench support: writes a run's results: bench/results/<date>[-quick].json, the chart <date>[-quick].svg,
// and a regenerated bench/RESULTS.md (tables, chart, machine, skips, and the goals checked per runtime).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { BenchResult, CellResult, PhaseResult, TargetSummary } from './results.js';
import { pgbouncerRefFor, ratioMedian } from './results.js';
import { renderChart } from './svg-chart.js';
import { EXTRA_SECONDS_AT_100_CLIENTS } from './options.js';
import { soakSectionOf } from './soak-samples.js';

const fmt = (v: number | null | undefined, d = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));
/** Text safe inside a Markdown table cell. */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const ratio = (v: number | null) => (v === null ? '–' : `${v.toFixed(2)}×`);

function labelOf(phase: PhaseResult, id: string): string {
  return phase.targets.find((t) => t.id === id)?.label ?? id;
}

function cellTable(phase: PhaseResult, cells: CellResult[]): string[] {
  const refLabel = cells[0] && pgbouncerRefFor(cells[0].workload) === 'pgbouncer-session' ? '× PgBouncer (session)' : '× PgBouncer';
  const lines = [
    `| clients | target | TPS | × direct | ${refLabel} | mean ms | p99 ms | proxy CPU µs/tx | peak RSS MB | PSS MB | ok runs |`,
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const c of cells) {
    for (const s of c.summary) {
      lines.push(
        `| ${c.clients} | ${labelOf(phase, s.target)} | ${fmt(s.tps, 0)} | ${ratio(s.vsDirect)} | ${ratio(s.vsPgbouncer)} | ` +
          `${fmt(s.latMeanMs, 2)} | ${fmt(s.latP99Ms, 2)} | ${fmt(s.cpuUsPerTx)} | ${fmt(s.rssPeakMB, 0)} | ${fmt(s.pssMB, 0)} | ${s.okRuns}/${s.runs} |`,
      );
    }
  }
  const errors = cells.flatMap((c) => c.summary.flatMap((s) => s.errors.map((e) => `${labelOf(phase, s.target)}, ${c.clients} clients: ${e}`)));
  if (errors.length) lines.push('', ...[...new Set(errors)].slice(0, 10).map((e) => `- failed run: ${e}`));
  return lines;
}

function sumOf(cell: CellResult, t: string): TargetSummary | undefined {
  return cell.summary.find((s) => s.target === t);
}

/** Meridian on each runtime, and the bare relay of that runtime its own work is measured against. */
const RUNTIMES = [
  { id: 'meridian', floor: 'node-floor', name: 'Node.js' },
  { id: 'meridian-bun', floor: 'bun-floor', name: 'Bun' },
] as const;
type RuntimeRef = (typeof RUNTIMES)[number];

/** Statements per tpcb-like transaction (BEGIN, 3 UPDATEs, SELECT, INSERT, END). */
export const TPCB_STATEMENTS = 7;
/** Issue 17's goals, in one place. */
export const GOAL = {
  selectTps: 0.9,
  selectCpu: 1.5,
  preparedTps: 1.0,
  tpcbTps: 0.9,
  ownWorkUs: 4,
  pgpool: 1.5,
  routingP99: 1.5,
  rssPerWorkerMB: 150,
  proxyBoundCores: 0.9,
} as const;

const cpuOf = (c: CellResult, t: string) => sumOf(c, t)?.cpuUsPerTx ?? null;
const wl = (c: CellResult) => (c.workload === 'select-extended' ? 'extended' : c.workload === 'select-simple' ? 'simple' : c.workload);
/** Cores a target kept busy in a cell: CPU per transaction × transactions per second. */
function coresOf(c: CellResult, t: string): number | null {
  const s = sumOf(c, t);
  return s && s.cpuUsPerTx !== null && s.tps !== null ? (s.cpuUsPerTx * s.tps) / 1e6 : null;
}

/** The goals for Meridian (issue 17, which tightens issue 7's), checked against this run, per runtime. */
export function goalRows(result: BenchResult): string[] {
  const rows: string[] = ['| goal | measured | verdict |', '|---|---|---|'];
  const single = result.phases.find((p) => p.id === 'single');
  const all = result.phases.flatMap((p) => p.cells.map((c) => ({ p, c })));
  const where = (p: PhaseResult, c: CellResult) => `${c.workload}${p.id === 'single' ? '' : ` (${p.id})`}, ${c.clients} cl`;
  const verdict = (ok: boolean | null) => (ok === null ? 'not measured' : ok ? 'met' : '**missed**');
  const cellsOf = (ws: string[], clients: number[] | null) =>
    single?.cells.filter((c) => ws.includes(c.workload) && (clients === null || clients.includes(c.clients))) ?? [];
  const push = (goal: string, measured: string[], oks: (boolean | null)[]) => {
    const known = oks.filter((o): o is boolean => o !== null);
    rows.push(`| ${cell(goal)} | ${cell(measured.join('; ') || '–')} | ${verdict(known.length ? known.every(Boolean) : null)} |`);
  };
  const ran = (id: string) => all.some(({ c }) => sumOf(c, id) !== undefined);
  const runtimes: RuntimeRef[] = RUNTIMES.filter((r) => ran(r.id));
  for (const rt of runtimes) {
    const on = `Meridian on ${rt.name}`;
    const tpsVs = (ws: string[], clients: number[] | null, ref: string, min: number, goal: string) => {
      const m: string[] = [];
      const ok: (boolean | null)[] = [];
      for (const c of cellsOf(ws, clients)) {
        const r = ratioMedian(c, rt.id, ref);
        const f = sumOf(c, rt.floor) ? `, bare ${rt.name} relay ${ratio(ratioMedian(c, rt.floor, ref))}` : '';
        m.push(`${wl(c)} ${c.clients} cl: ${ratio(r)}${f}`);
        ok.push(r === null ? null : r >= min);
      }
      push(`${on}: ${goal}`, m, ok);
    };
    tpsVs(
      ['select-simple', 'select-extended'],
      [8, 32],
      'pgbouncer',
      GOAL.selectTps,
      `select-only -M simple and -M extended TPS ≥ ${GOAL.selectTps}× PgBouncer (8, 32 clients)`,
    );
    {
      const m: string[] = [];
      const ok: (boolean | null)[] = [];
      for (const c of cellsOf(['select-simple', 'select-extended'], [8, 32])) {
        const a = cpuOf(c, rt.id);
        const b = cpuOf(c, 'pgbouncer');
        const r = a !== null && b !== null && b > 0 ? a / b : null;
        const f = cpuOf(c, rt.floor);
        const fr = f !== null && b !== null && b > 0 ? f / b : null;
        m.push(`${wl(c)} ${c.clients} cl: ${fmt(a)} vs ${fmt(b)} µs (${ratio(r)})${f !== null ? `, bare ${rt.name} relay ${fmt(f)} µs (${ratio(fr)})` : ''}`);
        ok.push(r === null ? null : r <= GOAL.selectCpu);
      }
      push(`${on}: select-only -M simple and -M extended proxy CPU/tx ≤ ${GOAL.selectCpu}× PgBouncer (8, 32 clients)`, m, ok);
    }
    tpsVs(
      ['select-prepared'],
      null,
      'pgbouncer-session',
      GOAL.preparedTps,
      `-M prepared (transaction pooling) TPS ≥ ${GOAL.preparedTps.toFixed(1)}× PgBouncer (session pooling)`,
    );
    tpsVs(['tpcb-simple'], null, 'pgbouncer', GOAL.tpcbTps, `tpcb-like TPS ≥ ${GOAL.tpcbTps}× PgBouncer`);
    const ownWork = (ws: string[], perStatement: boolean, goal: string) => {
      const m: string[] = [];
      const ok: (boolean | null)[] = [];
      for (const c of cellsOf(ws, null)) {
        const a = cpuOf(c, rt.id);
        const f = cpuOf(c, rt.floor);
        if (a === null || f === null) continue;
        const own = (a - f) / (perStatement ? TPCB_STATEMENTS : 1);
        m.push(
          `${wl(c)} ${c.clients} cl: ${fmt(a)} − ${fmt(f)} µs${perStatement ? ` = ${fmt(a - f)} µs / ${TPCB_STATEMENTS}` : ''} = ${own >= 0 ? '+' : ''}${fmt(own)} µs`,
        );
        ok.push(own <= GOAL.ownWorkUs);
      }
      push(`${on}: ${goal}`, m.length ? m : [`needs the bare ${rt.name} relay in the same cell (it runs up to the pool size)`], ok);
    };
    ownWork(
      ['select-simple', 'select-extended', 'select-prepared'],
      false,
      `own work on select-only (its CPU/tx − the bare ${rt.name} relay's) ≤ ${GOAL.ownWorkUs} µs`,
    );
    ownWork(['tpcb-simple'], true, `own work on tpcb-like ≤ ${GOAL.ownWorkUs} µs per statement (${TPCB_STATEMENTS} per transaction)`);
    {
      const m: string[] = [];
      const ok: (boolean | null)[] = [];
      let worst: { r: number; at: string } | null = null;
      let relayMisses = 0;
      let noRelay = 0;
      let noRelayMet = 0;
      for (const { p, c } of all) {
        const r = ratioMedian(c, rt.id, 'pgpool');
        if (r === null) continue;
        const f = ratioMedian(c, rt.floor, 'pgpool');
        if (f === null) {
          noRelay++;
          if (r >= GOAL.pgpool) noRelayMet++;
          continue;
        }
        if (f < GOAL.pgpool) {
          relayMisses++;
          continue;
        }
        ok.push(r >= GOAL.pgpool);
        if (!worst || r < worst.r) worst = { r, at: where(p, c) };
      }
      if (ok.length)
        m.push(
          `${ok.filter(Boolean).length}/${ok.length} cells where the relay reaches ${GOAL.pgpool}×; lowest ${ratio(worst?.r ?? null)} at ${worst?.at ?? '–'}`,
        );
      if (relayMisses) m.push(`${relayMisses} cell${relayMisses === 1 ? '' : 's'} where the relay itself stays under ${GOAL.pgpool}× (not counted)`);
      if (noRelay) m.push(`${noRelayMet}/${noRelay} cells without the relay (past the pool size, routing phases) at ≥ ${GOAL.pgpool}× (not counted)`);
      push(`${on}: TPS ≥ ${GOAL.pgpool}× Pgpool-II where the bare ${rt.name} relay reaches ${GOAL.pgpool}×`, m, ok);
    }
    {
      const m: string[] = [];
      const ok: (boolean | null)[] = [];
      for (const { p, c } of all.filter(({ p, c }) => p.id === 'standby' && c.workload === 'routing' && c.clients === 128)) {
        const a = sumOf(c, rt.id)?.latP99Ms ?? null;
        const b = sumOf(c, 'pgbouncer')?.latP99Ms ?? null;
        if (a === null || b === null) continue;
        m.push(`${where(p, c)}: ${fmt(a, 2)} vs ${fmt(b, 2)} ms (${ratio(a / b)})`);
        ok.push(a <= GOAL.routingP99 * b);
      }
      push(`${on}: routing mix (primary + 2 standbys), 128 clients: p99 ≤ ${GOAL.routingP99}× PgBouncer's`, m, ok);
    }
  }
  {
    const m: string[] = [];
    const ok: (boolean | null)[] = [];
    for (const [id, workers] of [...runtimes.map((r) => [r.id, 1] as const), ['meridian-w2', 2] as const]) {
      for (const { p, c } of all.filter(({ c }) => c.clients === 128)) {
        const s = sumOf(c, id);
        if (!s || s.hwmMB === null) continue;
        m.push(`${id}, ${where(p, c)}: ${fmt(s.hwmMB / workers, 0)} MB${workers > 1 ? ` (${fmt(s.hwmMB, 0)} MB over ${workers} workers)` : ''}`);
        ok.push(s.hwmMB / workers < GOAL.rssPerWorkerMB);
      }
    }
    push(`128 clients: RSS per worker (VmHWM of the process tree / workers) < ${GOAL.rssPerWorkerMB} MB`, m, ok);
  }
  {
    const m: string[] = [];
    const ok: (boolean | null)[] = [];
    let busiest: { cores: number; at: string; two: number; r: number | null } | null = null;
    for (const { p, c } of all) {
      const one = coresOf(c, 'meridian');
      const two = coresOf(c, 'meridian-w2');
      if (one === null || two === null) continue;
      const r = ratioMedian(c, 'meridian-w2', 'meridian');
      if (!busiest || one > busiest.cores) busiest = { cores: one, at: where(p, c), two, r };
      if (one < GOAL.proxyBoundCores) continue;
      m.push(`${where(p, c)}: 1 worker ${fmt(one, 2)} cores; 2 workers ${ratio(r)} its TPS at ${fmt(two / 2, 2)} cores per worker`);
      ok.push(r === null ? null : r > 1);
    }
    if (m.length === 0 && busiest) {
      m.push(
        `no proxy-bound cell: Meridian with 1 worker kept at most ${fmt(busiest.cores, 2)} cores busy (${busiest.at}; ` +
          `2 workers there: ${ratio(busiest.r)} its TPS at ${fmt(busiest.two / 2, 2)} cores per worker); ` +
          'pgbench and PostgreSQL share the same cores',
      );
    }
    push(`workers: 2 gets more TPS than 1 worker where 1 worker is proxy-bound (≥ ${GOAL.proxyBoundCores} core)`, m, ok);
  }
  return rows;
}

/** --baseline: the current build against the earlier one, cell by cell (ratios within each round, then the median). */
function baselineSection(result: BenchResult): string[] {
  const rows: string[] = [];
  for (const p of result.phases) {
    for (const c of p.cells) {
      const cur = sumOf(c, 'meridian');
      const base = sumOf(c, 'meridian-base');
      if (!cur || !base) continue;
      const cpu = cur.cpuUsPerTx !== null && base.cpuUsPerTx !== null && base.cpuUsPerTx > 0 ? cur.cpuUsPerTx / base.cpuUsPerTx : null;
      rows.push(
        `| ${cell(`${c.workloadLabel}${p.id === 'single' ? '' : ` (${p.id})`}`)} | ${c.clients} | ${fmt(base.tps, 0)} | ${fmt(cur.tps, 0)} | ` +
          `${ratio(ratioMedian(c, 'meridian', 'meridian-base'))} | ${fmt(base.cpuUsPerTx)} | ${fmt(cur.cpuUsPerTx)} | ${ratio(cpu)} |`,
      );
    }
  }
  if (rows.length === 0) return [];
  const label = result.phases.flatMap((p) => p.targets).find((t) => t.id === 'meridian-base')?.label ?? 'the baseline';
  return [
    `## This build against ${label}`,
    '',
    'Both builds ran as targets of this run, interleaved in every round (`--baseline`). TPS ratio: within each round, then the median.',
    '',
    '| workload | clients | TPS baseline | TPS now | × baseline | CPU µs/tx baseline | CPU µs/tx now | CPU × baseline |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ];
}

function syscallSection(result: BenchResult): string[] {
  if (result.syscalls.length === 0) return [];
  const out = [
    '## System calls per transaction (--syscalls)',
    '',
    "`strace -c -f` on the proxy's whole process tree during one extra run per workload (8 clients, 200 transactions each); " +
      'strace slows the proxy, so these runs give counts only. reads: read/recv*, writes: write/send*, poll: epoll_*/poll.',
    '',
  ];
  const keys = [...new Set(result.syscalls.map((s) => `${s.phase} ${s.workload}`))];
  for (const k of keys) {
    const rows = result.syscalls.filter((s) => `${s.phase} ${s.workload}` === k);
    const [phase, workload] = k.split(' ');
    out.push(
      `### ${workload}${phase === 'single' ? '' : ` (${phase})`}`,
      '',
      '| target | reads | writes | poll | futex | other | total | most frequent |',
      '|---|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const r of rows) {
      const p = r.perTx;
      out.push(
        `| ${r.target} | ${fmt(p.reads, 2)} | ${fmt(p.writes, 2)} | ${fmt(p.poll, 2)} | ${fmt(p.futex, 2)} | ${fmt(p.other, 2)} | ${fmt(p.total, 2)} | ${cell(r.top.map((t) => `${t.name} ${t.perTx.toFixed(2)}`).join(', '))} |`,
      );
    }
    out.push('');
  }
  return out;
}

function profileSection(result: BenchResult): string[] {
  if (result.profiles.length === 0) return [];
  const out = [
    '## Meridian CPU profile (--profile)',
    '',
    'Self time from `node --cpu-prof` (Meridian on Node.js) and `bun --cpu-prof` (on Bun) over each phase (idle excluded from the shares). ' +
      "Bun's profiler samples only while the thread runs and puts a socket write's kernel time under the native `write`.",
    '',
  ];
  for (const p of result.profiles) {
    out.push(`### ${p.phase}: ${fmt(p.busyMs / 1000)} s busy of ${fmt(p.wallMs / 1000)} s`, '', '| area | self ms | share |', '|---|---:|---:|');
    for (const a of p.areas) out.push(`| ${cell(a.name)} | ${fmt(a.selfMs, 0)} | ${fmt(a.pct)} % |`);
    out.push('', '| function | self ms | share |', '|---|---:|---:|');
    for (const f of p.topFunctions) out.push(`| \`${cell(f.name)}\` | ${fmt(f.selfMs, 0)} | ${fmt(f.pct)} % |`);
    out.push('');
  }
  return out;
}

function microSection(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('-micro.json'))
    .sort();
  const last = files[files.length - 1];
  if (!last) return [];
  try {
    const data = JSON.parse(readFileSync(join(dir, last), 'utf8')) as { date: string; outputs: { file: string; code: number | null; output: string }[] };
    const out = ['## Microbenchmarks', '', `From \`results/${last}\` (${data.date}); run with \`node --import tsx bench/run.ts --micro\`.`, ''];
    for (const o of data.outputs) out.push(`### bench/${o.file}`, '', '```', o.output.trim(), '```', '');
    return out;
  } catch {
    return [];
  }
}

export function renderMarkdown(result: BenchResult, chartRel: string, jsonRel: string, microDir: string): string {
  const m = result.machine;
  const o = result.options;
  const lines: string[] = [
    '# Meridian benchmarks',
    '',
    '<!-- generated by bench/run.ts: do not edit by hand -->',
    '',
    `Run of ${result.startedAt.replace('T', ' ').slice(0, 16)} UTC, **${result.mode}** mode, wall time ${result.wallS} s: ` +
      `${o.rounds} interleaved rounds of ${o.durationS} s pgbench runs per cell (${o.durationS + EXTRA_SECONDS_AT_100_CLIENTS} s with 100+ clients), pgbench scale ${o.scale}, \`-j 2\`. ` +
      `Every number is the median over the rounds; ratios are taken within each round, then the median. Raw data: \`${jsonRel}\`.`,
    '',
    `Meridian: ${result.meridian.status} (${result.meridian.build}).`,
    '',
    '## How to read it',
    '',
    "- **TPS**: pgbench, without the initial connection time. **mean / p99**: from pgbench's per-transaction log (`--log`).",
    "- **proxy CPU µs/tx**: utime + stime of the proxy's process tree (`/proc`, all Pgpool-II children included), over the part of " +
      'the run where every client was connected, divided by the transactions completed in that window.',
    '- **peak RSS**: the highest summed RSS sampled during the run (every 250 ms); for Pgpool-II this counts shared memory once per ' +
      'child, so **PSS** (proportional, shared pages counted once) is given too, read after the run.',
    '- The machine is shared (2 cores running pgbench, PostgreSQL and the proxy at once, plus other work): compare targets within one ' +
      'run, not across runs.',
    '',
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| CPUs | ${m.cpus} × ${m.cpuModel} |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| kernel | ${m.kernel} |`,
    `| load average (1/5/15 min) | start ${m.loadAvgStart.join(' / ')}, end ${m.loadAvgEnd.join(' / ')} |`,
    ...Object.entries(m.versions).map(([k, v]) => `| ${k} | ${v} |`),
    `| Meridian commit | ${m.git ? `${m.git.commit}${m.git.dirty ? ' (src/ has uncommitted changes)' : ''}` : 'unknown'} |`,
    '',
    "## Goals (issue 17; they tighten issue 7's)",
    '',
    "Meridian on each runtime is checked on its own rows; its own work is its CPU per transaction minus that of the same runtime's bare relay, " +
      'which runs only up to the pool size. Goals, not timed tests: a short or loaded run is noisy.',
    '',
    ...goalRows(result),
    '',
    `![TPS by clients per target](${chartRel})`,
    '',
  ];
  if (result.notes.length) lines.push('## Notes', '', ...result.notes.map((n) => `- ${n}`), '');
  for (const phase of result.phases) {
    lines.push(`## ${phase.label}`, '', phase.description, '');
    if (phase.skipped) lines.push(`**Skipped:** ${phase.skipped}`, '');
    if (phase.targets.length) {
      lines.push('| target | status |', '|---|---|');
      for (const t of phase.targets) {
        const byReason = new Map<string, string[]>();
        for (const [w, why] of Object.entries(t.excludes)) byReason.set(why, [...(byReason.get(why) ?? []), w]);
        const ex = [...byReason].map(([why, ws]) => `not run for ${ws.join(', ')}: ${why}`);
        if (t.maxClients !== undefined) ex.push(`run up to ${t.maxClients} clients only`);
        lines.push(
          `| ${cell(t.label)} | ${cell(`${t.status === 'ok' ? 'measured' : `skipped: ${t.reason ?? ''}`}${ex.length ? `; ${ex.join('; ')}` : ''}`)} |`,
        );
      }
      lines.push('');
    }
    if (phase.notes.length) lines.push(...phase.notes.map((n) => `- ${n}`), '');
    const workloads = [...new Set(phase.cells.map((c) => c.workload))];
    for (const w of workloads) {
      const cells = phase.cells.filter((c) => c.workload === w);
      lines.push(`### ${cells[0]!.workloadLabel}`, '', ...cellTable(phase, cells), '');
    }
  }
  lines.push(...baselineSection(result));
  lines.push(...syscallSection(result));
  lines.push(...profileSection(result));
  lines.push(...microSection(microDir));
  return lines.join('\n').replace(/\n{3,}/g, '\n\n') + '\n';
}

/** Writes the JSON, the SVG and the report (bench/RESULTS.md for a full run); returns the paths. */
export function writeReport(repo: string, result: BenchResult, outDir: string | null): string[] {
  const benchDir = join(repo, 'bench');
  const dir = outDir ?? join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const base = result.startedAt.slice(0, 10) + (result.mode === 'full' ? '' : `-${result.mode}`);
  const json = join(dir, `${base}.json`);
  const svg = join(dir, `${base}.svg`);
  writeFileSync(json, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(svg, renderChart(result));
  const written = [json, svg];
  // RESULTS.md is the full run's report; a quick or partial run writes its own next to its JSON, so
  // iterating with --quick never overwrites the published numbers.
  if (outDir === null && result.mode === 'full') {
    const md = join(benchDir, 'RESULTS.md');
    // The soak's section is written by bench/soak.ts, not by this run: keep it.
    const soak = existsSync(md) ? soakSectionOf(readFileSync(md, 'utf8')) : null;
    const text = renderMarkdown(result, relative(benchDir, svg), relative(benchDir, json), dir);
    writeFileSync(md, soak === null ? text : `${text.trimEnd()}\n\n${soak}\n`);
    written.push(md);
  } else {
    const md = join(dir, `${base}.md`);
    writeFileSync(md, renderMarkdown(result, `${base}.svg`, `${base}.json`, dir));
    written.push(md);
  }
  return written.map((p) => relative(repo, p) || p);
}
