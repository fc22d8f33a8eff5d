// `meridian classify`: reads SQL from stdin (one statement per line, or --json with an array of
// strings) and prints one JSON line per input: {"sql","class","readOnly","pin","hint","functions",
// "reason"}. With --dsn it loads function volatility from a live server first; without, unknown
// user functions are writes and the reason says so. Exit codes: 0 ok, 1 catalog failure, 2 usage.

import { parseArgs } from 'node:util';
import { VolatilityCatalog } from './catalog.js';
import { Classifier } from './classifier.js';
import type { Classification, RouteHint } from './types.js';

const USAGE = `usage: meridian classify [--json] [--dsn postgres://…] [--write-functions f,g] [--read-functions f,g]
  stdin: one statement per line, or with --json a JSON array of strings
`;

export async function runClassifyCommand(args: string[], input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<number> {
  let values: { json?: boolean; dsn?: string; 'write-functions'?: string; 'read-functions'?: string; help?: boolean };
  try {
    values = parseArgs({
      args,
      options: {
        json: { type: 'boolean' },
        dsn: { type: 'string' },
        'write-functions': { type: 'string' },
        'read-functions': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    output.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    output.write(USAGE);
    return 0;
  }
  const text = await readAll(input);
  const statements = values.json === true ? parseJsonInput(text) : text.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (statements === null) {
    output.write(`--json expects a JSON array of strings\n${USAGE}`);
    return 2;
  }
  const catalog = new VolatilityCatalog();
  if (values.dsn !== undefined) {
    const error = await loadCatalog(catalog, values.dsn);
    if (error !== null) {
      output.write(`${JSON.stringify({ error: `cannot load the function catalog: ${error}` })}\n`);
      return 1;
    }
  }
  await Classifier.init();
  const classifier = new Classifier({
    catalog,
    writeFunctions: splitList(values['write-functions']),
    readFunctions: splitList(values['read-functions']),
  });
  for (const sql of statements) output.write(`${JSON.stringify(toLine(sql, classifier.classify(sql)))}\n`);
  return 0;
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: string[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
  return chunks.join('');
}

function parseJsonInput(text: string): string[] | null {
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || !parsed.every((s): s is string => typeof s === 'string')) return null;
    return parsed;
  } catch {
    return null;
  }
}

function splitList(list: string | undefined): string[] {
  return list === undefined
    ? []
    : list
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}

/** Connects with node-postgres (loaded only for --dsn) and loads pg_proc. Returns an error message or null. */
async function loadCatalog(catalog: VolatilityCatalog, dsn: string): Promise<string | null> {
  let PgClient: typeof import('pg').Client;
  try {
    PgClient = (await import('pg')).default.Client;
  } catch {
    return "the 'pg' package is not installed";
  }
  const client = new PgClient({ connectionString: dsn, application_name: 'meridian-classify' });
  client.on('error', () => {});
  try {
    await client.connect();
    await catalog.refresh((sql) => client.query(sql));
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

function hintText(hint: RouteHint | null): string | null {
  if (hint === null) return null;
  return 'node' in hint ? `node=${hint.node}` : hint.route;
}

function toLine(sql: string, c: Classification): Record<string, unknown> {
  const pin = c.effects.find((e) => e.type === 'pin');
  return {
    sql,
    class: c.class,
    readOnly: c.readOnly,
    pin: pin !== undefined && pin.type === 'pin' ? pin.pin : null,
    hint: hintText(c.hint),
    functions: c.functions,
    reason: c.reason,
  };
}
