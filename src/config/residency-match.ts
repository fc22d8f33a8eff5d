// Residency rule matching: which rule (if any) restricts a session. Pure and synchronous; the
// router calls it when a session starts and again after a reload. Also owns "specificity" and
// "overlap", so the loader can reject configs where the winner would be ambiguous.
import { cidrContains, cidrsOverlap, parseAddress, parseCidr, type CidrBlock } from './cidr.js';
import type { ResidencyMatch, ResidencyRule } from './types.js';

/** What a rule can match on, as the frontend knows it after startup. */
export interface ResidencySession {
  readonly user: string;
  readonly database: string;
  readonly applicationName: string | null;
  readonly tenant: string | null; // startup option meridian.tenant
  readonly clientAddress: string | null; // null for a Unix socket
}

/** The exact-value match keys, in the order they are reported. */
const VALUE_KEYS = ['user', 'database', 'applicationName', 'tenant'] as const;

/** Rules are frozen, so a parsed CIDR can be cached per match object. */
const cidrCache = new WeakMap<ResidencyMatch, CidrBlock | null>();

function cidrOf(match: ResidencyMatch): CidrBlock | null {
  if (match.cidr === null) return null;
  let block = cidrCache.get(match);
  if (block === undefined) {
    block = parseCidr(match.cidr);
    cidrCache.set(match, block);
  }
  return block;
}

/**
 * Specificity of a rule: [number of match keys set, CIDR prefix length in IPv6 space (0 when
 * the rule has no cidr, i.e. it matches every address like ::/0)]. Compared lexicographically.
 */
export function ruleSpecificity(rule: ResidencyRule): readonly [number, number] {
  let keys = 0;
  for (const key of VALUE_KEYS) if (rule.match[key] !== null) keys++;
  const block = cidrOf(rule.match);
  if (rule.match.cidr !== null) keys++;
  return [keys, block?.prefix ?? 0];
}

function compareSpecificity(a: readonly [number, number], b: readonly [number, number]): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

/** True when some session could match both rules (no shared key with differing values). */
export function rulesCanOverlap(a: ResidencyRule, b: ResidencyRule): boolean {
  for (const key of VALUE_KEYS) {
    const va = a.match[key];
    const vb = b.match[key];
    if (va !== null && vb !== null && va !== vb) return false;
  }
  const ca = cidrOf(a.match);
  const cb = cidrOf(b.match);
  return ca === null || cb === null || cidrsOverlap(ca, cb);
}

function sameRegions(a: ResidencyRule, b: ResidencyRule): boolean {
  const sa = new Set(a.regions);
  const sb = new Set(b.regions);
  return sa.size === sb.size && [...sa].every((r) => sb.has(r));
}

/**
 * Pairs of rules (by index) whose winner would be ambiguous: equal specificity, a session can
 * match both, and they allow different regions. Rules with identical regions may tie harmlessly.
 */
export function findAmbiguousRules(rules: readonly ResidencyRule[]): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < rules.length; i++) {
    for (let j = i + 1; j < rules.length; j++) {
      const a = rules[i];
      const b = rules[j];
      if (a === undefined || b === undefined) continue;
      if (compareSpecificity(ruleSpecificity(a), ruleSpecificity(b)) !== 0) continue;
      if (rulesCanOverlap(a, b) && !sameRegions(a, b)) pairs.push([i, j]);
    }
  }
  return pairs;
}

function ruleMatches(rule: ResidencyRule, session: ResidencySession, address: bigint | null): boolean {
  const m = rule.match;
  if (m.user !== null && m.user !== session.user) return false;
  if (m.database !== null && m.database !== session.database) return false;
  if (m.applicationName !== null && m.applicationName !== session.applicationName) return false;
  if (m.tenant !== null && m.tenant !== session.tenant) return false;
  if (m.cidr !== null) {
    const block = cidrOf(m);
    // A rule whose CIDR cannot be parsed never validates; if one got here, matching it is the
    // closed (restrictive) choice only when the address is known, so treat it as no match.
    if (block === null || address === null || !cidrContains(block, address)) return false;
  }
  return true;
}

/**
 * The rule that restricts this session, or null (the whole cluster). The most specific matching
 * rule wins (more match keys, then a longer CIDR prefix); on an exact tie, the first in config
 * order (the loader guarantees tied rules allow the same regions).
 */
export function matchResidency(rules: readonly ResidencyRule[], session: ResidencySession): ResidencyRule | null {
  if (rules.length === 0) return null;
  const address = session.clientAddress === null ? null : parseAddress(session.clientAddress);
  let best: ResidencyRule | null = null;
  let bestSpec: readonly [number, number] = [-1, -1];
  for (const rule of rules) {
    if (!ruleMatches(rule, session, address)) continue;
    const spec = ruleSpecificity(rule);
    if (compareSpecificity(spec, bestSpec) > 0) {
      best = rule;
      bestSpec = spec;
    }
  }
  return best;
}
