// Every case table, by name: the classification test and the property tests both use them.

import type { Case } from './case-helpers.js';
import { COMMENT_HINT_CASES, MULTI_AND_MALFORMED_CASES, QUOTING_UNICODE_CASES } from './cases-comments.js';
import { DDL_CASES } from './cases-ddl.js';
import { DML_CASES } from './cases-dml.js';
import { ORM_CASES, PGBENCH_CASES } from './cases-orm.js';
import { READ_ONLY_TX_CASES } from './cases-read-only-tx.js';
import { SELECT_READ_CASES, SELECT_WRITE_CASES } from './cases-select.js';
import { SESSION_CASES, TRANSACTION_CASES } from './cases-session.js';

export const TABLES: Readonly<Record<string, readonly Case[]>> = {
  'select (reads)': SELECT_READ_CASES,
  'select (hidden writes)': SELECT_WRITE_CASES,
  dml: DML_CASES,
  'ddl and utility': DDL_CASES,
  transactions: TRANSACTION_CASES,
  'read-only transactions': READ_ONLY_TX_CASES,
  'session state': SESSION_CASES,
  'comments and hints': COMMENT_HINT_CASES,
  'quoting and unicode': QUOTING_UNICODE_CASES,
  'multi-statement and malformed': MULTI_AND_MALFORMED_CASES,
  pgbench: PGBENCH_CASES,
  orm: ORM_CASES,
};
