// Bench support (soak): one process's resident memory and open file descriptors from /proc, the
// least-squares slope of a series, and the soak's chart (RSS and fds over time, faults marked) as a
// hand-written SVG in the style of svg-chart.ts. Reads /proc only; starts nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { esc, niceMax } from './svg-chart.js';

export interface SoakSample {
  /** Seconds since the soak's load started. */
  tS: number;
  rssMB: number;
  fds: number;
}

export interface SoakEvent {
  tS: number;
  kind: string;
  detail: string;
}

/** VmRSS (MB) and the number of open fds of a live process; null when it is gone. */
export function sampleProcess(pid: number): { rssMB: number; fds: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    return { rssMB: kb / 1024, fds };
  } catch {
    return null;
  }
}

/** Least-squares slope of y over x (per unit of x); null with fewer than 2 distinct x. */
export function slope(points: readonly { x: number; y: number }[]): number | null {
  const n = points.length;
  if (n < 2) return null;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

export interface Slopes {
  /** Over samples with tS ≥ fromS (the second half of the run). */
  fromS: number;
  samples: number;
  rssMBPerHour: number | null;
  fdsPerHour: number | null;
}

export function secondHalfSlopes(samples: readonly SoakSample[], durationS: number): Slopes {
  const fromS = durationS / 2;
  const half = samples.filter((s) => s.tS >= fromS);
  const perHour = (v: number | null) => (v === null ? null : v * 3600);
  return {
    fromS,
    samples: half.length,
    rssMBPerHour: perHour(slope(half.map((s) => ({ x: s.tS, y: s.rssMB })))),
    fdsPerHour: perHour(slope(half.map((s) => ({ x: s.tS, y: s.fds })))),
  };
}

const EVENT_COLOURS: Record<string, string> = { terminate: '#d62728', restart: '#9467bd', 'bad-clients': '#ff7f0e' };

/** One panel: a series over time, faults as vertical lines, the second half shaded. */
function panel(title: string, unit: string, values: { x: number; y: number }[], events: readonly SoakEvent[], durationS: number, y0: number): string {
  const w = 860;
  const h = 230;
  const left = 56;
  const right = 16;
  const top = 28;
  const bottom = 30;
  const pw = w - left - right;
  const ph = h - top - bottom;
  const maxY = niceMax(Math.max(1, ...values.map((v) => v.y)) * 1.1);
  const xAt = (t: number) => left + (t / Math.max(1, durationS)) * pw;
  const yAt = (v: number) => y0 + top + ph - (v / maxY) * ph;
  const parts: string[] = [`<text x="${w / 2}" y="${y0 + 18}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`];
  parts.push(`<rect x="${xAt(durationS / 2).toFixed(1)}" y="${y0 + top}" width="${(pw / 2).toFixed(1)}" height="${ph}" fill="#f4f4f4"/>`);
  for (let g = 0; g <= 4; g++) {
    const v = (maxY * g) / 4;
    parts.push(`<line x1="${left}" y1="${yAt(v).toFixed(1)}" x2="${left + pw}" y2="${yAt(v).toFixed(1)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${left - 6}" y="${(yAt(v) + 4).toFixed(1)}" text-anchor="end" fill="#666">${v.toFixed(v < 10 ? 1 : 0)}</text>`);
  }
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const t = (durationS * i) / ticks;
    parts.push(`<text x="${xAt(t).toFixed(1)}" y="${y0 + top + ph + 16}" text-anchor="middle" fill="#666">${(t / 60).toFixed(1)}</text>`);
  }
  parts.push(
    `<text x="${left + pw / 2}" y="${y0 + h - 2}" text-anchor="middle" fill="#666">minutes (shaded: second half, where the slope is taken); ${esc(unit)}</text>`,
  );
  for (const e of events) {
    const colour = EVENT_COLOURS[e.kind] ?? '#999999';
    parts.push(
      `<line x1="${xAt(e.tS).toFixed(1)}" y1="${y0 + top}" x2="${xAt(e.tS).toFixed(1)}" y2="${y0 + top + ph}" stroke="${colour}" stroke-width="1" stroke-dasharray="3,3"><title>${esc(`${e.kind} at ${e.tS.toFixed(0)} s: ${e.detail}`)}</title></line>`,
    );
  }
  const pts = values.map((v) => `${xAt(v.x).toFixed(1)},${yAt(v.y).toFixed(1)}`).join(' ');
  if (values.length > 1) parts.push(`<polyline fill="none" stroke="#2ca02c" stroke-width="2" points="${pts}"/>`);
  for (const v of values)
    parts.push(
      `<circle cx="${xAt(v.x).toFixed(1)}" cy="${yAt(v.y).toFixed(1)}" r="2" fill="#2ca02c"><title>${v.y.toFixed(1)} at ${v.x.toFixed(0)} s</title></circle>`,
    );
  return parts.join('\n');
}

/** The soak chart: RSS and open fds of Meridian over the run; fault events as dashed lines. */
export function renderSoakChart(samples: readonly SoakSample[], events: readonly SoakEvent[], durationS: number, title: string): string {
  const width = 860;
  const height = 40 + 2 * 230 + 10;
  const legend = Object.entries(EVENT_COLOURS).map(
    ([k, c], i) =>
      `<line x1="${16 + i * 170}" y1="20" x2="${36 + i * 170}" y2="20" stroke="${c}" stroke-dasharray="3,3"/><text x="${42 + i * 170}" y="24">${esc(k)}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    '<rect width="100%" height="100%" fill="#ffffff"/>',
    `<title>${esc(title)}</title>`,
    ...legend,
    panel(
      'Meridian RSS (MB)',
      'MB',
      samples.map((s) => ({ x: s.tS, y: s.rssMB })),
      events,
      durationS,
      40,
    ),
    panel(
      'Meridian open file descriptors',
      'fds',
      samples.map((s) => ({ x: s.tS, y: s.fds })),
      events,
      durationS,
      40 + 230,
    ),
    '</svg>',
    '',
  ].join('\n');
}

/** Markers of the Soak section of bench/RESULTS.md: a full `npm run bench` keeps what is between them. */
export const SOAK_SECTION_START = '<!-- soak:start (written by bench/soak.ts) -->';
export const SOAK_SECTION_END = '<!-- soak:end -->';

/** The Soak section of a RESULTS.md text (markers included), or null. */
export function soakSectionOf(md: string): string | null {
  const a = md.indexOf(SOAK_SECTION_START);
  const b = md.indexOf(SOAK_SECTION_END, a);
  return a < 0 || b < 0 ? null : md.slice(a, b + SOAK_SECTION_END.length);
}
