// Bench support: writes a run's results: bench/results/<date>[-quick].json, the chart <date>[-quick].svg,
// and a regenerated bench/RESULTS.md (tables, chart, machine, skips, and the issue's goals checked).
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

/** ", bare Node.js relay: …" when the reference relay ran in this cell. */
function floorNote(c: CellResult, text: string): string {
  return sumOf(c, 'node-floor') ? `, bare Node.js relay: ${text}` : '';
}

/** The issue's goals for Meridian, checked against this run (with the bare Node.js relay beside it). */
function goals(result: BenchResult): string[] {
  const rows: string[] = ['| goal | measured | verdict |', '|---|---|---|'];
  const single = result.phases.find((p) => p.id === 'single');
  const all = result.phases.flatMap((p) => p.cells.map((c) => ({ p, c })));
  const verdict = (ok: boolean | null) => (ok === null ? 'not measured' : ok ? 'met' : '**missed**');
  const cellsOf = (w: string, clients: number[]) => single?.cells.filter((c) => c.workload === w && clients.includes(c.clients)) ?? [];
  const push = (goal: string, measured: string[], oks: (boolean | null)[]) => {
    const known = oks.filter((o): o is boolean => o !== null);
    rows.push(`| ${cell(goal)} | ${cell(measured.join('; ') || '–')} | ${verdict(known.length ? known.every(Boolean) : null)} |`);
  };
  {
    const m: string[] = [];
    const ok: (boolean | null)[] = [];
    for (const c of cellsOf('select-simple', [8, 32])) {
      const r = ratioMedian(c, 'meridian', 'pgbouncer');
      m.push(`${c.clients} cl: ${ratio(r)}${floorNote(c, ratio(ratioMedian(c, 'node-floor', 'pgbouncer')))}`);
      ok.push(r === null ? null : r >= 0.85);
    }
    push('select-only -M simple TPS ≥ 0.85× PgBouncer (8, 32 clients)', m, ok);
  }
  {
    const m: string[] = [];
    const ok: (boolean | null)[] = [];
    for (const c of cellsOf('select-simple', [8, 32])) {
      const a = sumOf(c, 'meridian')?.cpuUsPerTx ?? null;
      const b = sumOf(c, 'pgbouncer')?.cpuUsPerTx ?? null;
      const r = a !== null && b !== null && b > 0 ? a / b : null;
      const f = sumOf(c, 'node-floor')?.cpuUsPerTx ?? null;
      const fr = f !== null && b !== null && b > 0 ? f / b : null;
      const own = a !== null && f !== null ? ` (Meridian's own work: ${a >= f ? '+' : ''}${fmt(a - f)} µs)` : '';
      m.push(`${c.clients} cl: ${fmt(a)} vs ${fmt(b)} µs (${ratio(r)})${floorNote(c, `${fmt(f)} µs (${ratio(fr)})${own}`)}`);
      ok.push(r === null ? null : r <= 1.5);
    }
    push('select-only -M simple proxy CPU/tx ≤ 1.5× PgBouncer', m, ok);
  }
  {
    const m: string[] = [];
    const ok: (boolean | null)[] = [];
    for (const c of cellsOf('select-prepared', [8, 32])) {
      const r = ratioMedian(c, 'meridian', 'pgbouncer-session');
      m.push(`${c.clients} cl: ${ratio(r)}`);
      ok.push(r === null ? null : r >= 0.85);
    }
    push('-M prepared (transaction pooling) TPS ≥ 0.85× PgBouncer (session pooling)', m, ok);
  }
  {
    const m: string[] = [];
    const ok: (boolean | null)[] = [];
    let worst: { r: number; at: string } | null = null;
    let missedWithFloor = 0;
    let floorMissesToo = 0;
    for (const { p, c } of all) {
      const r = ratioMedian(c, 'meridian', 'pgpool');
      if (r === null) continue;
      ok.push(r >= 1.5);
      if (!worst || r < worst.r) worst = { r, at: `${c.workload}${p.id === 'single' ? '' : ` (${p.id})`}, ${c.clients} cl` };
      const f = ratioMedian(c, 'node-floor', 'pgpool');
      if (r < 1.5 && f !== null) {
        missedWithFloor++;
        if (f < 1.5) floorMissesToo++;
      }
    }
    if (worst) m.push(`${ok.filter(Boolean).length}/${ok.length} cells; lowest ${ratio(worst.r)} at ${worst.at}`);
    if (missedWithFloor) m.push(`of the missed cells the bare Node.js relay ran, it misses ${floorMissesToo} of ${missedWithFloor} too`);
    push('TPS ≥ 1.5× Pgpool-II on every workload', m, ok);
  }
  {
    const m: string[] = [];
    const ok: (boolean | null)[] = [];
    for (const { p, c } of all.filter(({ c }) => c.clients === 128)) {
      const s = sumOf(c, 'meridian');
      if (!s || s.hwmMB === null) continue;
      m.push(`${c.workload}${p.id === 'single' ? '' : ` (${p.id})`}: ${fmt(s.hwmMB, 0)} MB`);
      ok.push(s.hwmMB < 150);
    }
    push('128 clients: Meridian peak RSS (VmHWM) < 150 MB', m, ok);
  }
  {
    const m: string[] = [];
    const ok: (boolean | null)[] = [];
    for (const { p, c } of all.filter(({ c }) => c.clients === 128)) {
      const a = sumOf(c, 'meridian')?.latP99Ms ?? null;
      const b = sumOf(c, pgbouncerRefFor(c.workload))?.latP99Ms ?? null;
      if (a === null || b === null) continue;
      m.push(`${c.workload}${p.id === 'single' ? '' : ` (${p.id})`}: ${fmt(a, 2)} vs ${fmt(b, 2)} ms`);
      ok.push(a <= 1.5 * b);
    }
    push('128 clients: Meridian p99 ≤ 1.5× PgBouncer', m, ok);
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
    'Self time from `node --cpu-prof` over each phase (warm-up and idle gaps included; idle excluded from the shares).',
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
    '## Goals from issue 7',
    '',
    ...goals(result),
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
