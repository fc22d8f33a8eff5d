// The shape every admin command answers with: named columns and rows of plain values. One table
// becomes a PostgreSQL row set for the console (psql prints it) and JSON for the HTTP API, so both
// surfaces always show the same facts. Owns formatting only; no command logic here.

import { resultSet, type ColumnSpec } from '../protocol/encode.js';

export type Cell = string | number | boolean | null;

export interface AdminColumn {
  readonly name: string;
  /** int8 columns let psql right-align and clients parse numbers; everything else is text. */
  readonly type: 'text' | 'int' | 'float' | 'bool';
}

export interface AdminTable {
  readonly columns: readonly AdminColumn[];
  readonly rows: readonly (readonly Cell[])[];
  /** CommandComplete tag; default `SHOW <rows>`-style `SELECT n`. */
  readonly tag?: string;
}

const OID: Record<AdminColumn['type'], number> = { text: 25, int: 20, float: 701, bool: 16 };

export const text = (name: string): AdminColumn => ({ name, type: 'text' });
export const int = (name: string): AdminColumn => ({ name, type: 'int' });
export const float = (name: string): AdminColumn => ({ name, type: 'float' });
export const bool = (name: string): AdminColumn => ({ name, type: 'bool' });

function cellText(v: Cell): string | null {
  if (v === null) return null;
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  return v;
}

/** RowDescription + DataRows + CommandComplete for a simple Query. */
export function tableFrames(t: AdminTable): Buffer {
  const cols: ColumnSpec[] = t.columns.map((c) => ({ name: c.name, typeOid: OID[c.type] }));
  return resultSet(
    cols,
    t.rows.map((r) => r.map(cellText)),
    t.tag,
  );
}

/** Rows as JSON objects keyed by column name (HTTP API). */
export function tableObjects(t: AdminTable): Record<string, Cell>[] {
  return t.rows.map((r) => {
    const o: Record<string, Cell> = {};
    t.columns.forEach((c, i) => {
      const v = r[i] ?? null;
      o[c.name] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
    });
    return o;
  });
}

/** Rounds ms values for display: one decimal. */
export function roundMs(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10;
}
