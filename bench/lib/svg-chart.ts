// Bench support: a hand-written SVG chart, TPS by client count per target, one panel per workload.
// No dependencies: plain strings, escaped text, fixed colours per target.
import type { BenchResult } from './results.js';

const COLOURS: Record<string, string> = {
  direct: '#555555',
  pgbouncer: '#1f77b4',
  'pgbouncer-session': '#17becf',
  pgpool: '#ff7f0e',
  'node-floor': '#9467bd',
  'bun-floor': '#e377c2',
  'meridian-base': '#7f7f7f',
  meridian: '#2ca02c',
  'meridian-bun': '#bcbd22',
  'meridian-w2': '#8c564b',
};
const NAMES: Record<string, string> = {
  direct: 'direct',
  pgbouncer: 'PgBouncer (transaction)',
  'pgbouncer-session': 'PgBouncer (session)',
  pgpool: 'Pgpool-II',
  'node-floor': 'bare Node.js relay',
  'bun-floor': 'bare Bun relay',
  'meridian-base': 'Meridian (baseline)',
  meridian: 'Meridian on Node.js',
  'meridian-bun': 'Meridian on Bun',
  'meridian-w2': 'Meridian, 2 workers',
};

/** Text escaped for SVG/XML. */
export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A round axis maximum at or above v. */
export function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const kfmt = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k` : v.toFixed(0));

interface Panel {
  title: string;
  clients: number[];
  series: { target: string; points: (number | null)[] }[];
}

function panels(result: BenchResult): Panel[] {
  const out: Panel[] = [];
  for (const phase of result.phases) {
    const workloads = [...new Set(phase.cells.map((c) => c.workload))];
    for (const w of workloads) {
      const cells = phase.cells.filter((c) => c.workload === w).sort((a, b) => a.clients - b.clients);
      if (cells.length === 0) continue;
      const targets = [...new Set(cells.flatMap((c) => c.summary.map((s) => s.target)))];
      out.push({
        title: phase.id === 'single' ? cells[0]!.workloadLabel : `${cells[0]!.workloadLabel} (${phase.id})`,
        clients: cells.map((c) => c.clients),
        series: targets.map((t) => ({ target: t, points: cells.map((c) => c.summary.find((s) => s.target === t)?.tps ?? null) })),
      });
    }
  }
  return out;
}

function panelSvg(p: Panel, x0: number, y0: number, w: number, h: number): string {
  const left = 52;
  const right = 12;
  const top = 26;
  const bottom = 30;
  const pw = w - left - right;
  const ph = h - top - bottom;
  const maxV = niceMax(Math.max(1, ...p.series.flatMap((s) => s.points.filter((v): v is number => v !== null))));
  const xAt = (i: number) => x0 + left + (p.clients.length === 1 ? pw / 2 : (i * pw) / (p.clients.length - 1));
  const yAt = (v: number) => y0 + top + ph - (v / maxV) * ph;
  const parts: string[] = [];
  parts.push(`<text x="${x0 + w / 2}" y="${y0 + 16}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  for (let g = 0; g <= 4; g++) {
    const v = (maxV * g) / 4;
    const y = yAt(v);
    parts.push(`<line x1="${x0 + left}" y1="${y}" x2="${x0 + left + pw}" y2="${y}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${x0 + left - 6}" y="${y + 4}" text-anchor="end" fill="#666">${kfmt(v)}</text>`);
  }
  p.clients.forEach((c, i) => {
    parts.push(`<text x="${xAt(i)}" y="${y0 + top + ph + 16}" text-anchor="middle" fill="#666">${c}</text>`);
  });
  parts.push(`<text x="${x0 + left + pw / 2}" y="${y0 + h - 2}" text-anchor="middle" fill="#666">clients</text>`);
  for (const s of p.series) {
    const colour = COLOURS[s.target] ?? '#9467bd';
    const dash = s.target === 'pgbouncer-session' ? ' stroke-dasharray="5,3"' : '';
    const pts = s.points.map((v, i) => (v === null ? null : `${xAt(i).toFixed(1)},${yAt(v).toFixed(1)}`));
    const runs: string[][] = [[]];
    for (const pt of pts) {
      if (pt === null) runs.push([]);
      else runs[runs.length - 1]!.push(pt);
    }
    for (const r of runs) if (r.length > 1) parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${r.join(' ')}"/>`);
    s.points.forEach((v, i) => {
      if (v !== null)
        parts.push(
          `<circle cx="${xAt(i).toFixed(1)}" cy="${yAt(v).toFixed(1)}" r="3" fill="${colour}"><title>${esc(NAMES[s.target] ?? s.target)}: ${v.toFixed(0)} TPS at ${p.clients[i]} clients</title></circle>`,
        );
    });
  }
  return parts.join('\n');
}

/** The whole chart: a legend, then the panels two per row. */
export function renderChart(result: BenchResult): string {
  const ps = panels(result);
  const cols = 2;
  const pw = 420;
  const ph = 240;
  const rows = Math.max(1, Math.ceil(ps.length / cols));
  const width = cols * pw;
  const targets = [...new Set(ps.flatMap((p) => p.series.map((s) => s.target)))];
  const perLine = 5; // legend entries per line (165 px each)
  const legendH = 24 + Math.ceil(Math.max(1, targets.length) / perLine) * 16;
  const height = legendH + rows * ph + 10;
  const legend = targets.map((t, i) => {
    const x = 16 + (i % perLine) * 165;
    const y = 14 + Math.floor(i / perLine) * 16;
    const colour = COLOURS[t] ?? '#9467bd';
    return `<rect x="${x}" y="${y}" width="14" height="4" fill="${colour}"/><text x="${x + 20}" y="${y + 6}">${esc(NAMES[t] ?? t)}</text>`;
  });
  const body = ps.map((p, i) => panelSvg(p, (i % cols) * pw, legendH + Math.floor(i / cols) * ph, pw, ph));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<title>TPS by clients per target (${esc(result.startedAt.slice(0, 10))}, ${result.mode} run)</title>`,
    ...legend,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
