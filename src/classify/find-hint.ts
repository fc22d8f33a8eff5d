// Finds a route hint in the comments the lexer saw. A hint counts where a leading comment can be:
// before the first token, right after the first keyword (`SELECT /* meridian: … */ …`), and, for
// sqlcommenter-style tools that append their comment, after the last token.

import type { Lexer } from './lexer.js';
import { parseHint } from './parse-hint.js';
import type { RouteHint } from './types.js';

export function findHint(lexer: Lexer): RouteHint | null {
  if (!lexer.hasHintComment) return null;
  const n = lexer.commentStarts.length;
  for (let i = 0; i < n; i++) {
    const next = lexer.commentNext[i] ?? -1;
    if (next !== 0 && next !== 1 && next !== lexer.count) continue;
    const text = lexer.sql.slice(lexer.commentStarts[i], lexer.commentEnds[i]);
    const hint = parseHint(text);
    if (hint !== null) return hint;
  }
  return null;
}
