// ConfigError: why a configuration was refused, with every problem as a key path and a line.
// A MeridianError (SQLSTATE F0000, config_file_error) so the admin console's RELOAD can send
// it to the client as is.
import { MeridianError } from '../errors.js';
import type { ConfigPath } from './env-substitute.js';

export interface ConfigIssue {
  readonly path: string; // e.g. "cluster.nodes[1].port"; "" for the document itself
  readonly line: number | null; // 1-based, null when unknown
  readonly column: number | null;
  readonly message: string;
}

/** "cluster.nodes[1].port" from ["cluster", "nodes", 1, "port"]. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

function formatIssue(source: string, issue: ConfigIssue): string {
  const where = issue.line === null ? source : `${source}:${issue.line}:${issue.column ?? 1}`;
  return issue.path === '' ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
}

export class ConfigError extends MeridianError {
  /** The file name (or the name given to parseConfigText). */
  readonly source: string;
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[]) {
    const lines = issues.map((issue) => formatIssue(source, issue));
    const message = lines.length === 1 ? (lines[0] ?? '') : `${lines.length} errors in ${source}:\n${lines.join('\n')}`;
    super('CONFIG_INVALID', 'F0000', 'ERROR', message);
    this.name = 'ConfigError';
    this.source = source;
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
  }
}
