// Loads Meridian's YAML config: parse (with positions) → ${VAR} substitution → placeholder
// secrets refused → schema → cross-key resolution → deep freeze. Every failure is one ConfigError listing each problem
// with its key path and line:column. Synchronous: it runs at start-up and on reload, both rare.
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type * as z from 'zod';
import { ConfigError, formatPath, type ConfigIssue } from './config-error.js';
import { substituteEnv, type ConfigPath, type Env, type PathIssue } from './env-substitute.js';
import { resolveConfig } from './resolve-config.js';
import { configSchema } from './schema.js';
import { describeValue } from './schema-fields.js';
import { findPlaceholderSecrets } from './placeholder-secrets.js';
import { keysUnder } from './settings-table.js';
import type { MeridianConfig } from './types.js';
import { positionOf } from './yaml-positions.js';

export { ConfigError } from './config-error.js';
export type { ConfigIssue } from './config-error.js';

export interface LoadOptions {
  /** Variables for ${VAR}; default process.env. */
  readonly env?: Env;
  /** Directory relative paths (tls files, *_file secrets) are taken from; default: the file's, or cwd. */
  readonly baseDir?: string;
}

/** Deep-freezes a plain object tree (the config is shared, read-only, by every module). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

function valueAt(tree: unknown, path: ConfigPath): unknown {
  let node = tree;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

/** Levenshtein distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function unknownKeyMessage(parent: ConfigPath, key: string): string {
  const normalized = formatPath(parent).replace(/\[\d+\]/g, '[]');
  const known = keysUnder(normalized);
  const typed = key.toLowerCase().replace(/-/g, '_');
  const guess = known
    .map((k) => ({ k, d: k.startsWith(typed) && typed.length >= 3 ? 0 : distance(typed, k) }))
    .sort((x, y) => x.d - y.d)[0];
  const hint = guess !== undefined && guess.d <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${guess.k}"?)` : '';
  const list = known.length > 0 ? `; allowed here: ${known.join(', ')}` : '';
  return `unknown key "${key}"${hint}${list}`;
}

const TYPE_NAMES: Readonly<Record<string, string>> = { object: 'a mapping', array: 'a list', string: 'a string', number: 'a number' };

/** Zod issues → path issues; unknown keys become one issue each, at the key. */
function fromZod(error: z.ZodError, tree: unknown): Array<PathIssue & { atKey?: boolean }> {
  const out: Array<PathIssue & { atKey?: boolean }> = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], message: unknownKeyMessage(path, key), atKey: true });
    } else if (issue.code === 'invalid_type') {
      const value = valueAt(tree, path);
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      out.push({ path, message: value === undefined ? 'is required' : `expected ${expected}, got ${describeValue(value)}` });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

/** Adds line:column to each issue and sorts them as they appear in the file. */
function locate(doc: Document, lc: LineCounter, issues: ReadonlyArray<PathIssue & { atKey?: boolean }>): ConfigIssue[] {
  const located = issues.map((issue) => {
    const pos = positionOf(doc, lc, issue.path, issue.atKey === true);
    return { path: formatPath(issue.path), line: pos?.line ?? null, column: pos?.column ?? null, message: issue.message };
  });
  const rank = (i: ConfigIssue) => (i.line ?? Number.MAX_SAFE_INTEGER) * 10_000 + (i.column ?? 0);
  return located.sort((a, b) => rank(a) - rank(b));
}

/** Parses and validates config text. `sourceName` names it in errors (usually the file path). */
export function parseConfigText(text: string, sourceName: string, options: LoadOptions = {}): MeridianConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, merge: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(sourceName, doc.errors.map((err) => {
      const pos = lc.linePos(err.pos[0]);
      return { path: '', line: pos.line, column: pos.col, message: `invalid YAML: ${err.message.split('\n')[0] ?? err.message}` };
    }));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new ConfigError(sourceName, [{ path: '', line: null, column: null, message: `invalid YAML: ${(err as Error).message}` }]);
  }

  // Top-level "x-…" keys are free for YAML anchors (as in Compose files); aliases are already
  // expanded, so drop them before anything looks at them.
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    raw = Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith('x-')));
  }
  const envIssues: PathIssue[] = [];
  const tree = substituteEnv(raw, options.env ?? process.env, envIssues);
  if (envIssues.length > 0) throw new ConfigError(sourceName, locate(doc, lc, envIssues));
  const secretIssues: PathIssue[] = [];
  findPlaceholderSecrets(tree, secretIssues);
  if (secretIssues.length > 0) throw new ConfigError(sourceName, locate(doc, lc, secretIssues));

  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) throw new ConfigError(sourceName, locate(doc, lc, fromZod(parsed.error, tree)));

  const baseDir = options.baseDir ?? process.cwd();
  const { config, issues } = resolveConfig(parsed.data, { baseDir, readFile: (p) => readFileSync(p, 'utf8') });
  if (issues.length > 0) throw new ConfigError(sourceName, locate(doc, lc, issues));
  return deepFreeze(config);
}

/** Reads, parses and validates a config file. Relative paths inside it are relative to its directory. */
export function loadConfigFile(path: string, options: LoadOptions = {}): MeridianConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ path: '', line: null, column: null, message: `cannot read config file: ${(err as Error).message}` }]);
  }
  return parseConfigText(text, path, { ...options, baseDir: options.baseDir ?? dirname(resolvePath(path)) });
}
