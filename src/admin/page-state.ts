// The JSON the operator page polls (GET /ui/state): nodes grouped by region with one status word
// each, routed requests per second, the residency rules with the nodes each may use now, and the
// event log. Pure: built from the rows of SHOW NODES and SHOW RESIDENCY (the same facts the console
// and GET /nodes give), the split-brain flags of the snapshot, the rates and the events; the
// gathering is in page-source.ts. Strings go to the page as data: the page puts them in the DOM as
// text, never as markup.

import type { LoggedEvent } from './event-log.js';
import type { RoutedCounts, RoutedRate } from './page-rates.js';
import type { Cell } from './table.js';

/** One word for the page: not up wins, then split brain, then the operator state (active: up). */
export type PageStatus = 'up' | 'down' | 'split-brain' | 'draining' | 'drained' | 'catching-up';

export interface PageNode {
  readonly name: string;
  readonly region: string;
  readonly role: string;
  readonly status: PageStatus;
  /** Operator state: active, draining, drained, catching-up (a drained node that is stopped is `down` and `drained`). */
  readonly state: string;
  readonly isUp: boolean;
  readonly rttMs: number | null;
  readonly lagMs: number | null;
  readonly lagBytes: number | null;
  readonly readsPerS: number | null;
  readonly writesPerS: number | null;
  readonly activeBackends: number;
  readonly idleBackends: number;
  /** Drain progress as SHOW NODES words it; null when no drain is going on. */
  readonly drain: string | null;
  readonly lastError: string | null;
}

export interface PageRule {
  readonly rule: string;
  readonly match: string;
  readonly regions: string[];
  readonly nodes: string[];
  readonly masters: string[];
  readonly readable: string[];
  readonly status: string;
  readonly sessions: number;
  readonly refusals: number;
}

export interface PageState {
  readonly takenAtMs: number;
  /** How often the page asks again. */
  readonly pollMs: number;
  readonly regions: { readonly region: string; readonly nodes: PageNode[] }[];
  readonly residency: PageRule[];
  readonly events: LoggedEvent[];
}

export interface PageInputs {
  readonly nowMs: number;
  readonly pollMs: number;
  /** SHOW NODES as objects (tableObjects). */
  readonly nodes: readonly Record<string, Cell>[];
  /** SHOW RESIDENCY as objects. */
  readonly residency: readonly Record<string, Cell>[];
  readonly splitBrain: ReadonlySet<string>;
  readonly rates: ReadonlyMap<string, RoutedRate>;
  readonly events: readonly LoggedEvent[];
}

const str = (v: Cell | undefined): string => (v === null || v === undefined ? '' : String(v));
const strOrNull = (v: Cell | undefined): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: Cell | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const names = (v: Cell | undefined): string[] =>
  str(v)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

export function pageStatus(isUp: boolean, isSplitBrain: boolean, state: string): PageStatus {
  if (!isUp) return 'down';
  if (isSplitBrain) return 'split-brain';
  if (state === 'draining' || state === 'drained' || state === 'catching-up') return state;
  return 'up';
}

/** The routed counters of SHOW NODES rows, by node (what RoutedRates samples). */
export function routedCounts(rows: readonly Record<string, Cell>[]): Map<string, RoutedCounts> {
  return new Map(rows.map((r) => [str(r.name), { reads: num(r.routed_reads) ?? 0, writes: num(r.routed_writes) ?? 0 }]));
}

function pageNode(r: Record<string, Cell>, inp: PageInputs): PageNode {
  const name = str(r.name);
  const isUp = r.up === true;
  const state = str(r.state);
  const rate = inp.rates.get(name);
  return {
    name,
    region: str(r.region),
    role: str(r.role),
    status: pageStatus(isUp, inp.splitBrain.has(name), state),
    state,
    isUp,
    rttMs: num(r.rtt_ms),
    lagMs: num(r.lag_ms),
    lagBytes: num(r.lag_bytes),
    readsPerS: rate?.readsPerS ?? null,
    writesPerS: rate?.writesPerS ?? null,
    activeBackends: num(r.active_backends) ?? 0,
    idleBackends: num(r.idle_backends) ?? 0,
    drain: strOrNull(r.drain),
    lastError: strOrNull(r.last_error),
  };
}

export function buildPageState(inp: PageInputs): PageState {
  // Regions in the order their first node appears in the config; nodes in config order within each.
  const regions = new Map<string, PageNode[]>();
  for (const r of inp.nodes) {
    const n = pageNode(r, inp);
    let list = regions.get(n.region);
    if (list === undefined) regions.set(n.region, (list = []));
    list.push(n);
  }
  return {
    takenAtMs: inp.nowMs,
    pollMs: inp.pollMs,
    regions: [...regions].map(([region, nodes]) => ({ region, nodes })),
    residency: inp.residency.map((r) => ({
      rule: str(r.rule),
      match: str(r.match),
      regions: names(r.regions),
      nodes: names(r.nodes),
      masters: names(r.masters),
      readable: names(r.readable),
      status: str(r.status),
      sessions: num(r.sessions) ?? 0,
      refusals: num(r.refusals) ?? 0,
    })),
    events: [...inp.events],
  };
}
