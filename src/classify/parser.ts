// Loads PostgreSQL's own parser (libpg-query, WebAssembly) once, and parses synchronously after
// that. The proxy awaits ensureParser() at start-up; classify() never waits.

import { loadModule, parseSync } from 'libpg-query';

let isReady = false;
let loading: Promise<void> | null = null;

export async function ensureParser(): Promise<void> {
  if (isReady) return;
  loading ??= loadModule().then(() => {
    isReady = true;
  });
  await loading;
}

export function isParserReady(): boolean {
  return isReady;
}

/** The raw parse result (statements under .stmts); throws on a syntax error. */
export function parseSql(sql: string): unknown {
  return parseSync(sql);
}
