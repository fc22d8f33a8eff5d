// What the parse-tree classifiers (ast-statement.ts, ast-session.ts) read besides the tree itself:
// the function policy and the statement's source. A type only; it imports no classifier, so the
// statement and session classifiers can both depend on it without depending on each other.

import type { FunctionPolicy } from './function-policy.js';
import type { SourceText } from './source-text.js';

export interface StatementContext {
  readonly policy: FunctionPolicy;
  readonly source: SourceText;
  /** This statement's text, without leading comments (SET replay, PREPARE). */
  text(): string;
}
