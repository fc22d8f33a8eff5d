// Residency policy: which rules restrict a session, the regions it may use, and whether it may
// log in at all. Pure and synchronous; the frontend calls it at login and again after a reload.
//
// Fail-closed by construction: every rule a session matches applies, and the session may use
// only the regions *all* of them allow (the intersection). A key the client chooses
// (application_name, meridian.tenant) can therefore only narrow what a verified key (user,
// database, client address) allows, never widen it. The two ways a client could still widen its
// set, by leaving a key out or by claiming someone else's tenant, are closed by
// residency.require_match (no rule matched: refused) and users[].tenants (claims are checked).
import { cidrContains, parseAddress, parseCidr, type CidrBlock } from './cidr.js';
import type { ResidencyConfig, ResidencyMatch, ResidencyRule, UserConfig } from './types.js';

/** What a rule can match on, as the frontend knows it after startup. */
export interface ResidencySession {
  readonly user: string;
  readonly database: string;
  readonly applicationName: string | null;
  readonly tenant: string | null; // startup option meridian.tenant
  readonly clientAddress: string | null; // null for a Unix socket
}

/** The residency of one session: the rules it matched and the regions all of them allow. */
export interface SessionResidency {
  /** Every matching rule, in config order (never empty). */
  readonly rules: readonly ResidencyRule[];
  /** The rule names joined with "+" (errors, metrics, SHOW SESSIONS): "eu-tenant+office". */
  readonly name: string;
  /** Regions every matched rule allows, in the first rule's order; empty: no node at all. */
  readonly regions: readonly string[];
}

/** Why a session may not log in (or, after a reload, may not stay). */
export type ResidencyDenial = 'tenant-claim' | 'no-rule' | 'no-common-region';

export type ResidencyVerdict =
  | { readonly ok: true; readonly residency: SessionResidency | null } // null: no rule, every node
  | { readonly ok: false; readonly denial: ResidencyDenial; readonly message: string };

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

function ruleMatches(rule: ResidencyRule, session: ResidencySession, address: bigint | null): boolean {
  const m = rule.match;
  if (m.user !== null && m.user !== session.user) return false;
  if (m.database !== null && m.database !== session.database) return false;
  if (m.applicationName !== null && m.applicationName !== session.applicationName) return false;
  if (m.tenant !== null && m.tenant !== session.tenant) return false;
  if (m.cidr !== null) {
    const block = cidrOf(m);
    // An unparsable CIDR never validates; an unknown address (Unix socket) is not inside any block.
    if (block === null || address === null || !cidrContains(block, address)) return false;
  }
  return true;
}

/** Every rule the session matches, in config order. */
export function matchingRules(rules: readonly ResidencyRule[], session: ResidencySession): ResidencyRule[] {
  if (rules.length === 0) return [];
  const address = session.clientAddress === null || session.clientAddress === '' ? null : parseAddress(session.clientAddress);
  return rules.filter((rule) => ruleMatches(rule, session, address));
}

/** The combined residency of matched rules (intersection of their regions); null for none. */
export function combineRules(matched: readonly ResidencyRule[]): SessionResidency | null {
  const first = matched[0];
  if (first === undefined) return null;
  const regions = first.regions.filter((region, i) =>
    first.regions.indexOf(region) === i && matched.every((r) => r.regions.includes(region)));
  return Object.freeze({ rules: Object.freeze([...matched]), name: matched.map((r) => r.name).join('+'), regions: Object.freeze(regions) });
}

/** The residency that restricts this session, or null (no rule matches: the whole cluster). */
export function matchResidency(rules: readonly ResidencyRule[], session: ResidencySession): SessionResidency | null {
  return combineRules(matchingRules(rules, session));
}

/**
 * May `user` claim `tenant` (startup option meridian.tenant)? A user with users[].tenants may
 * claim only those. A user without (or one not in users at all, e.g. looked up by auth_query) may
 * claim any tenant only while residency.bind_tenants is off.
 */
export function mayClaimTenant(users: readonly UserConfig[], residency: ResidencyConfig, user: string, tenant: string): boolean {
  const tenants = users.find((u) => u.name === user)?.tenants ?? null;
  if (tenants === null) return !residency.bindTenants;
  return tenants.includes(tenant);
}

function quoteList(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

/**
 * The login decision for a session: refused (a tenant claim outside the user's tenants; no rule
 * matched under require_match; matched rules that share no region), or its residency.
 */
export function decideResidency(
  cfg: { readonly users: readonly UserConfig[]; readonly residency: ResidencyConfig },
  session: ResidencySession,
): ResidencyVerdict {
  if (session.tenant !== null && !mayClaimTenant(cfg.users, cfg.residency, session.user, session.tenant)) {
    return {
      ok: false, denial: 'tenant-claim',
      message: `user "${session.user}" may not claim tenant "${session.tenant}" (meridian.tenant): it is not in the user's tenants`,
    };
  }
  const residency = matchResidency(cfg.residency.rules, session);
  if (residency === null) {
    return cfg.residency.requireMatch
      ? { ok: false, denial: 'no-rule', message: 'no residency rule matches this session, and residency.require_match is on' }
      : { ok: true, residency: null };
  }
  if (residency.regions.length === 0) {
    return {
      ok: false, denial: 'no-common-region',
      message: `residency rules ${quoteList(residency.rules.map((r) => r.name))} all match this session but allow no region in common`,
    };
  }
  return { ok: true, residency };
}

/**
 * After a reload: the node a session holds (attached, or kept in session pooling) that its new
 * residency forbids, or null. A node missing from the new config counts as forbidden when the
 * session is restricted at all, since its region is no longer known.
 */
export function forbiddenHeldNode(
  residency: SessionResidency | null,
  heldNodes: Iterable<string>,
  regionOf: (node: string) => string | undefined,
): string | null {
  if (residency === null) return null;
  for (const node of heldNodes) {
    const region = regionOf(node);
    if (region === undefined || !residency.regions.includes(region)) return node;
  }
  return null;
}
