// ${VAR} / ${VAR:-default} substitution in the string values of a parsed YAML tree, before
// validation (so "${PORT:-6432}" may feed a numeric key). Keys are never substituted. "$${" is a
// literal "${". Shell semantics: ":-" applies the default when the variable is unset or empty,
// "-" only when unset. Pure: the environment is passed in.

export type ConfigPath = ReadonlyArray<string | number>;

export interface PathIssue {
  readonly path: ConfigPath;
  readonly message: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([\s\S]*))?$/;

/** Substitutes one string; pushes an issue (and returns the text unchanged) on a bad reference. */
function substituteString(text: string, env: Env, path: ConfigPath, issues: PathIssue[]): string {
  if (!text.includes('${')) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('${', i);
    if (start === -1) {
      out += text.slice(i);
      break;
    }
    if (start > 0 && text[start - 1] === '$') {
      // "$${" escapes a literal "${": drop one "$" and keep scanning after the brace.
      out += text.slice(i, start - 1) + '${';
      i = start + 2;
      continue;
    }
    out += text.slice(i, start);
    const end = text.indexOf('}', start + 2);
    if (end === -1) {
      issues.push({ path, message: `unterminated "\${" (write "$\${" for a literal "\${")` });
      return text;
    }
    const expr = text.slice(start + 2, end);
    const m = REFERENCE.exec(expr);
    if (m === null || m[1] === undefined) {
      issues.push({ path, message: `bad environment reference "\${${expr}}": expected \${NAME} or \${NAME:-default}` });
      return text;
    }
    const name = m[1];
    const value = env[name];
    const op = m[2];
    if (op === ':-' && (value === undefined || value === '')) out += m[3] ?? '';
    else if (op === '-' && value === undefined) out += m[3] ?? '';
    else if (value === undefined) {
      issues.push({ path, message: `environment variable ${name} is not set (use \${${name}:-default} for a default)` });
      return text;
    } else out += value;
    i = end + 1;
  }
  return out;
}

/** Returns a copy of the tree with every string value substituted; issues name the key path. */
export function substituteEnv(value: unknown, env: Env, issues: PathIssue[], path: ConfigPath = []): unknown {
  if (typeof value === 'string') return substituteString(value, env, path, issues);
  if (Array.isArray(value)) return value.map((item, index) => substituteEnv(item, env, issues, [...path, index]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty, not assignment: a YAML key "__proto__" must stay a plain (unknown) key.
      Object.defineProperty(out, key, { value: substituteEnv(item, env, issues, [...path, key]), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}
