// The cache key of a statement that carries literals: its text with each plain number and each
// plain '…' string masked, everything else kept verbatim — case, spacing, comments, quoted
// identifiers. Two texts with one key differ only inside such literals, so they lex to the same
// tokens but for literal values. Pure; allocates nothing per text (one scanner, reused arrays):
// the key is a hash of the masked text, and a candidate is confirmed by comparing the texts
// outside their literals (matches), never by the hash alone.
// Anything this scan does not follow exactly as PostgreSQL's scanner does is refused, never
// guessed: a backslash or NUL anywhere, a $ outside a word ($1, dollar quotes), a quote glued to
// a word (E'…', B'…', U&'…'), a number glued to anything (1.5, 1e3, 0x1F, 1_000, 12abc, .5),
// unterminated quotes or comments.

/** Letter, digit, underscore, $ or non-ASCII: the characters of an unquoted word. */
function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c >= 128;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

// Character classes of the scan, for ASCII (anything above is a word character, as in PostgreSQL).
const OTHER = 0;
const WORD = 1;
const DIGIT = 2;
const QUOTE = 3;
const DQUOTE = 4;
const DASH = 5;
const SLASH = 6;
const REFUSED = 7;

const CLASS = ((): Uint8Array => {
  const t = new Uint8Array(128);
  for (let c = 0; c < 128; c++) if (isWordChar(c)) t[c] = isDigit(c) ? DIGIT : WORD;
  t[36] = REFUSED; // $ outside a word: a parameter or a dollar quote
  t[92] = REFUSED; // backslash
  t[0] = REFUSED; // NUL
  t[39] = QUOTE;
  t[34] = DQUOTE;
  t[45] = DASH;
  t[47] = SLASH;
  return t;
})();

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 16777619;
/** Hashed in place of a literal: above every UTF-16 code unit. */
const LITERAL = 0x10000;

export class LiteralMask {
  /** Literal spans of the last text scanned: [start, end) pairs, `count` of them. */
  spans = new Int32Array(32);
  count = 0;
  /** Hash of the last text scanned, its literals masked (valid when scan returned true). */
  hash = 0;

  /** Scans `sql`. True when it has literals and nothing the scan refuses. */
  scan(sql: string): boolean {
    this.count = 0;
    const n = sql.length;
    let h = FNV_OFFSET;
    let i = 0;
    while (i < n) {
      const c = sql.charCodeAt(i);
      const cls = c < 128 ? CLASS[c]! : WORD;
      if (cls === WORD) {
        // A word, digits and $ included (t1, a$b). Hashed by its length, first and last character
        // only (a quarter cheaper): two texts this confuses just share a slot, and matches() tells them apart.
        const from = i;
        do i++;
        while (i < n && isWordChar(sql.charCodeAt(i)));
        h = Math.imul(h ^ ((i - from) | (c << 8) | (sql.charCodeAt(i - 1) << 24)), FNV_PRIME);
        if (sql.charCodeAt(i) === 39) return false; // E'…', B'…', N'…', X'…'
        continue;
      }
      if (cls === OTHER) {
        h = Math.imul(h ^ c, FNV_PRIME);
        i++;
        continue;
      }
      let end: number;
      if (cls === DIGIT) {
        end = i + 1;
        while (end < n && isDigit(sql.charCodeAt(end))) end++;
        if (end < n && (isWordChar(sql.charCodeAt(end)) || sql.charCodeAt(end) === 46 || sql.charCodeAt(end) === 39)) return false;
        if (i > 0 && sql.charCodeAt(i - 1) === 46) return false; // .5
      } else if (cls === QUOTE) {
        if (i > 0 && sql.charCodeAt(i - 1) === 38) return false; // U&'…'
        end = stringEnd(sql, i);
      } else if (cls === REFUSED)
        return false; // backslash; $ outside a word; NUL
      else {
        // "…", -- …, /* … */ (or a lone - or /): hashed as text.
        if (cls === DQUOTE) end = quotedEnd(sql, i);
        else if (cls === DASH && sql.charCodeAt(i + 1) === 45) end = lineEnd(sql, i);
        else if (cls === SLASH && sql.charCodeAt(i + 1) === 42) end = blockCommentEnd(sql, i);
        else end = i + 1;
        if (end < 0) return false;
        for (; i < end; i++) h = Math.imul(h ^ sql.charCodeAt(i), FNV_PRIME);
        continue;
      }
      if (end < 0) return false;
      this.push(i, end);
      h = Math.imul(h ^ LITERAL, FNV_PRIME);
      i = end;
    }
    this.hash = h >>> 0;
    return this.count > 0;
  }

  /** The literal spans of the last text scanned, as a copy to keep with a cache entry. */
  keepSpans(): Int32Array {
    return this.spans.slice(0, 2 * this.count);
  }

  /** Whether `other` (with literal spans `otherSpans`) equals the last text scanned, `sql`, outside their literals. */
  matches(sql: string, other: string, otherSpans: Int32Array): boolean {
    if (otherSpans.length !== 2 * this.count) return false;
    const spans = this.spans;
    let a = 0;
    let b = 0;
    for (let k = 0; k < otherSpans.length; k += 2) {
      const sa = spans[k]!;
      if (sa - a !== otherSpans[k]! - b) return false;
      for (; a < sa; a++, b++) if (sql.charCodeAt(a) !== other.charCodeAt(b)) return false;
      a = spans[k + 1]!;
      b = otherSpans[k + 1]!;
    }
    if (sql.length - a !== other.length - b) return false;
    for (; a < sql.length; a++, b++) if (sql.charCodeAt(a) !== other.charCodeAt(b)) return false;
    return true;
  }

  private push(start: number, end: number): void {
    const k = 2 * this.count;
    if (k + 2 > this.spans.length) {
      const grown = new Int32Array(this.spans.length * 2);
      grown.set(this.spans);
      this.spans = grown;
    }
    this.spans[k] = start;
    this.spans[k + 1] = end;
    this.count++;
  }
}

/** End (after the closing quote) of the '…' string opening at `open`, '' doubling included; -1 if unterminated or escaped. */
function stringEnd(sql: string, open: number): number {
  let j = open + 1;
  while (j < sql.length) {
    const c = sql.charCodeAt(j);
    if (c === 92) return -1;
    if (c === 39) {
      if (sql.charCodeAt(j + 1) !== 39) return j + 1;
      j += 2;
      continue;
    }
    j++;
  }
  return -1;
}

/** End of the -- comment opening at `open`: the line's end. */
function lineEnd(sql: string, open: number): number {
  let j = open + 2;
  while (j < sql.length && sql.charCodeAt(j) !== 10 && sql.charCodeAt(j) !== 13) j++;
  return j;
}

/** End of the "…" identifier opening at `open`, "" doubling included; -1 if unterminated. */
function quotedEnd(sql: string, open: number): number {
  let j = open + 1;
  while (j < sql.length) {
    if (sql.charCodeAt(j) === 34) {
      if (sql.charCodeAt(j + 1) !== 34) return j + 1;
      j += 2;
      continue;
    }
    j++;
  }
  return -1;
}

/** End of the (nested) block comment opening at `open`; -1 if unterminated. */
function blockCommentEnd(sql: string, open: number): number {
  let depth = 1;
  let j = open + 2;
  while (j < sql.length) {
    const c = sql.charCodeAt(j);
    if (c === 47 && sql.charCodeAt(j + 1) === 42) {
      depth++;
      j += 2;
    } else if (c === 42 && sql.charCodeAt(j + 1) === 47) {
      j += 2;
      if (--depth === 0) return j;
    } else j++;
  }
  return -1;
}
