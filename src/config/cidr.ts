// IP address and CIDR parsing for residency rules. Owns the arithmetic only: every address is
// held as a 128-bit bigint in IPv6 space, IPv4 mapped to ::ffff:a.b.c.d, so an IPv4 client seen
// by a dual-stack socket as "::ffff:10.1.2.3" matches "10.0.0.0/8" and vice versa. Pure; no IO.

/** A parsed CIDR block in IPv6 space (IPv4 blocks are mapped, their prefix + 96). */
export interface CidrBlock {
  readonly network: bigint; // host bits cleared
  readonly prefix: number; // 0..128, in IPv6 space
}

const V4_MAPPED = 0xffffn << 32n;
const ALL_ONES = (1n << 128n) - 1n;

/** Parses dotted-quad IPv4 to a 32-bit bigint, or null. Leading zeros are refused (ambiguous octal). */
function parseIPv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

/** Parses the 16-bit groups of one side of an IPv6 "::" (may end with an embedded IPv4). */
function parseGroups(text: string, allowV4Tail: boolean): bigint[] | null {
  if (text === '') return [];
  const groups = text.split(':');
  const out: bigint[] = [];
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i] ?? '';
    if (allowV4Tail && i === groups.length - 1 && group.includes('.')) {
      const v4 = parseIPv4(group);
      if (v4 === null) return null;
      out.push(v4 >> 16n, v4 & 0xffffn);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
      out.push(BigInt(parseInt(group, 16)));
    }
  }
  return out;
}

function parseIPv6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  let groups: bigint[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0] ?? '', false);
    const tail = parseGroups(halves[1] ?? '', true);
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<bigint>(8 - head.length - tail.length).fill(0n), ...tail];
  } else {
    const all = parseGroups(text, true);
    if (all === null || all.length !== 8) return null;
    groups = all;
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone such as "%eth0" is ignored) into IPv6 space.
 * Returns null when the text is not an address.
 */
export function parseAddress(text: string): bigint | null {
  const bare = text.trim().replace(/%[^%]*$/, '');
  if (bare.includes(':')) return parseIPv6(bare);
  const v4 = parseIPv4(bare);
  return v4 === null ? null : V4_MAPPED | v4;
}

/**
 * Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (a single host). Host bits beyond the
 * prefix are cleared, as pg_hba.conf does. Returns null when the text is not a valid block.
 */
export function parseCidr(text: string): CidrBlock | null {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addrText = slash === -1 ? trimmed : trimmed.slice(0, slash);
  if (addrText.includes('%')) return null;
  const isV6 = addrText.includes(':');
  const maxPrefix = isV6 ? 128 : 32;
  let prefix = maxPrefix;
  if (slash !== -1) {
    const prefixText = trimmed.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return null;
    prefix = Number(prefixText);
    if (prefix > maxPrefix) return null;
  }
  const address = parseAddress(addrText);
  if (address === null) return null;
  const prefix6 = isV6 ? prefix : prefix + 96;
  return { network: address & maskFor(prefix6), prefix: prefix6 };
}

function maskFor(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL_ONES << BigInt(128 - prefix)) & ALL_ONES;
}

/** True when the address (already parsed) lies inside the block. */
export function cidrContains(block: CidrBlock, address: bigint): boolean {
  return (address & maskFor(block.prefix)) === block.network;
}

