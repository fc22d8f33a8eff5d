// Patroni's GET /cluster answer, checked: what Meridian reads of it (members with name, role,
// state, host, port, lag; a scheduled switchover; pause) as a small typed view, or why the body is
// not one. The body comes from the network and is never trusted: every field is checked for type
// and size before use, unknown fields are ignored, and nothing here throws. Pure; no IO.

/** One member as Patroni reports it (Patroni 3: role leader | standby_leader | sync_standby | replica). */
export interface PatroniMember {
  readonly name: string;
  readonly role: string;
  readonly state: string;
  readonly host: string | null;
  readonly port: number | null;
  /** Bytes behind the leader; null: the leader, or Patroni does not know ('unknown'). */
  readonly lagBytes: number | null;
}

export interface PatroniView {
  readonly members: readonly PatroniMember[];
  /** A switchover Patroni has scheduled: when (ms since the epoch), from and to (member names, or null). */
  readonly scheduledSwitchover: { readonly atMs: number; readonly from: string | null; readonly to: string | null } | null;
  /** Patroni's maintenance mode: it will not fail over. */
  readonly isPaused: boolean;
}

/** Bounds on what a body may hold: a real cluster has a handful of members with short names. */
export const MAX_MEMBERS = 64;
const MAX_TEXT = 256;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shortText(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT ? v : null;
}

function member(v: unknown, i: number): PatroniMember | string {
  if (!isRecord(v)) return `members[${i}] is not an object`;
  const name = shortText(v.name);
  if (name === null) return `members[${i}].name is not a name`;
  const role = shortText(v.role);
  if (role === null) return `members[${i}].role is not a role`;
  const state = typeof v.state === 'string' && v.state.length <= MAX_TEXT ? v.state : '';
  const host = shortText(v.host);
  const port = typeof v.port === 'number' && Number.isInteger(v.port) && v.port > 0 && v.port < 65536 ? v.port : null;
  const lagBytes = typeof v.lag === 'number' && Number.isFinite(v.lag) && v.lag >= 0 ? v.lag : null;
  return { name, role, state, host, port, lagBytes };
}

function scheduled(v: unknown): PatroniView['scheduledSwitchover'] {
  if (!isRecord(v) || typeof v.at !== 'string' || v.at.length > MAX_TEXT) return null;
  const atMs = Date.parse(v.at);
  if (!Number.isFinite(atMs)) return null;
  return { atMs, from: shortText(v.from), to: shortText(v.to) };
}

/** Parses a GET /cluster body (text). Returns the view, or a short reason it is not one. */
export function parseClusterView(body: string): PatroniView | string {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return 'the body is not JSON';
  }
  if (!isRecord(doc)) return 'the body is not a JSON object';
  const raw = doc.members;
  if (!Array.isArray(raw)) return 'no members list';
  if (raw.length > MAX_MEMBERS) return `${raw.length} members (at most ${MAX_MEMBERS})`;
  const members: PatroniMember[] = [];
  const names = new Set<string>();
  for (let i = 0; i < raw.length; i++) {
    const m = member(raw[i], i);
    if (typeof m === 'string') return m;
    if (names.has(m.name)) return `member "${m.name}" listed twice`;
    names.add(m.name);
    members.push(m);
  }
  if (members.filter((m) => isLeaderRole(m.role)).length > 1) return 'more than one leader';
  return { members, scheduledSwitchover: scheduled(doc.scheduled_switchover), isPaused: doc.pause === true };
}

/** Patroni's leader roles: leader, and standby_leader of a standby cluster (it follows another cluster). */
export function isLeaderRole(role: string): boolean {
  return role === 'leader' || role === 'standby_leader';
}
