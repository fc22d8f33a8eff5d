// The cache key of a statement that carries literals: its text with each plain number and each
// plain '…' string replaced by NUL (which no Query text can contain), everything else kept
// verbatim — case, spacing, comments, quoted identifiers. Two texts with one key differ only
// inside such literals, so they lex to the same tokens but for literal values. Pure.
// Anything this scan does not follow exactly as PostgreSQL's scanner does is refused (null), never
// guessed: a backslash or NUL anywhere, dollar quotes, a quote glued to a word (E'…', B'…', U&'…'), a
// number glued to anything (1.5, 1e3, 0x1F, 1_000, 12abc), unterminated quotes or comments.

const NUL = '\u0000';

/** Letter, digit, underscore, $ or non-ASCII: the characters of an unquoted word. */
function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c >= 128;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * The text with its literals masked, or null when it has none (the exact cache keys such texts)
 * or holds anything the scan refuses (see above).
 */
export function maskLiterals(sql: string): string | null {
  const n = sql.length;
  let key = '';
  let copied = 0; // sql[copied, i) is still to be appended to key
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 92 || c === 36 || c === 0) return null; // backslash; $ outside a word ($1, $tag$); NUL (the mask)
    if (c === 39) {
      if (i > 0 && (isWordChar(sql.charCodeAt(i - 1)) || sql.charCodeAt(i - 1) === 38)) return null; // E'', U&''
      const end = stringEnd(sql, i);
      if (end < 0) return null;
      key += sql.slice(copied, i) + NUL;
      copied = i = end;
    } else if (c === 34) {
      i = quotedEnd(sql, i, 34);
      if (i < 0) return null;
    } else if (c === 45 && sql.charCodeAt(i + 1) === 45) {
      while (i < n && sql.charCodeAt(i) !== 10 && sql.charCodeAt(i) !== 13) i++;
    } else if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      i = blockCommentEnd(sql, i);
      if (i < 0) return null;
    } else if (isDigit(c)) {
      let j = i + 1;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      // 1.5, 1e3, 0x1F, 1_000, 12abc, 1'…': PostgreSQL reads these otherwise (or version by version).
      if (j < n && (isWordChar(sql.charCodeAt(j)) || sql.charCodeAt(j) === 46 || sql.charCodeAt(j) === 39)) return null;
      if (i > 0 && sql.charCodeAt(i - 1) === 46) return null; // .5
      key += sql.slice(copied, i) + NUL;
      copied = i = j;
    } else if (isWordChar(c)) {
      // A word, digits and $ included (t1, a$b): kept whole.
      i++;
      while (i < n && isWordChar(sql.charCodeAt(i))) i++;
    } else i++;
  }
  if (copied === 0) return null;
  return key + sql.slice(copied);
}

/** End (after the closing quote) of the '…' string opening at `open`, '' doubling included; -1 if unterminated. */
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

function quotedEnd(sql: string, open: number, q: number): number {
  let j = open + 1;
  while (j < sql.length) {
    if (sql.charCodeAt(j) === q) {
      if (sql.charCodeAt(j + 1) !== q) return j + 1;
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
