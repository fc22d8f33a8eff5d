// Read-only transactions route as reads (a standby may serve them); nothing about them may behave
// differently there. Regression: `begin; set transaction read only; select …` sent as one simple
// Query routed to the master; only BEGIN READ ONLY / START TRANSACTION READ ONLY routed as reads.
// What a hot standby refuses and a master accepts (READ WRITE mode, SERIALIZABLE, importing a
// snapshot) routes as a write. Session defaults (SET SESSION CHARACTERISTICS …,
// default_transaction_read_only) are not honoured for routing: a later plain BEGIN is a write.

import { set, type Case } from './case-helpers.js';

export const READ_ONLY_TX_CASES: readonly Case[] = [
  // A plain BEGIN made read-only by SET TRANSACTION right behind it, in the same Query
  ['begin; set transaction read only; select 1', 'tx-begin', { w: false, ro: true, n: 3, reason: 'set transaction read only' }],
  ['BEGIN; SET TRANSACTION READ ONLY; SELECT * FROM t WHERE id = 5', 'tx-begin', { w: false, ro: true, n: 3 }],
  ['BEGIN; SET TRANSACTION READ ONLY; SELECT * FROM t; COMMIT', 'tx-begin', { w: false, ro: true, n: 4 }],
  ['BEGIN;SET TRANSACTION READ ONLY;', 'tx-begin', { w: false, ro: true, n: 2 }],
  ['START TRANSACTION; SET TRANSACTION READ ONLY; SELECT 1', 'tx-begin', { w: false, ro: true, n: 3 }],
  ['BEGIN WORK; SET TRANSACTION READ ONLY', 'tx-begin', { w: false, ro: true, n: 2 }],
  ['BEGIN; SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT 1', 'tx-begin', { w: false, ro: true, n: 3 }],
  ['BEGIN; SET TRANSACTION ISOLATION LEVEL READ COMMITTED READ ONLY; SELECT 1', 'tx-begin', { w: false, ro: true, n: 3 }],
  ['BEGIN; SET TRANSACTION READ ONLY, ISOLATION LEVEL REPEATABLE READ; SELECT 1', 'tx-begin', { w: false, ro: true, n: 3 }],
  ['BEGIN; SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION READ ONLY; SELECT 1', 'tx-begin', { w: false, ro: true, n: 4 }],
  ['BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION READ ONLY; SELECT 1', 'tx-begin', { w: false, ro: true, n: 3 }],
  ['BEGIN; SET TRANSACTION READ ONLY DEFERRABLE; SELECT 1', 'tx-begin', { w: false, ro: true, n: 3 }],
  ['BEGIN; SET LOCAL transaction_read_only = on; SELECT 1', 'tx-begin', { w: false, ro: true, n: 3 }],
  ["BEGIN; SET transaction_read_only TO 'true'; SELECT 1", 'tx-begin', { w: false, ro: true, n: 3 }],
  ['BEGIN; SET SESSION transaction_read_only = 1; SELECT 1', 'tx-begin', { w: false, ro: true, n: 3 }],
  ['/* app */ BEGIN; /* x */ SET TRANSACTION READ ONLY; SELECT 1', 'tx-begin', { w: false, ro: true, n: 3 }],
  ['BEGIN;\n  SET TRANSACTION READ ONLY;\n  SELECT a FROM t FOR SHARE', 'write', { w: true, ro: true, n: 3, reason: 'for update/share' }],
  ['SELECT 1; BEGIN; SET TRANSACTION READ ONLY; SELECT 2', 'tx-begin', { w: false, ro: false, n: 4 }],
  ['BEGIN READ ONLY; SELECT 1; COMMIT; BEGIN; SET TRANSACTION READ ONLY; SELECT 2', 'tx-begin', { w: false, ro: true, n: 6 }],
  ['BEGIN; SET TRANSACTION READ ONLY; COMMIT AND CHAIN; SELECT 1', 'tx-begin', { w: false, ro: true, n: 4 }],

  // …but not when the transaction ends up read-write, or a write is in the request
  ['BEGIN; SET TRANSACTION READ ONLY; INSERT INTO t VALUES (1)', 'write', { w: true, ro: true, n: 3, reason: 'insert' }],
  ["BEGIN; SET TRANSACTION READ ONLY; SELECT nextval('s')", 'write', { w: true, ro: true, n: 3, reason: 'nextval' }],
  ['BEGIN; SET TRANSACTION READ ONLY; SET TRANSACTION READ WRITE; SELECT 1', 'tx-begin', { w: true, ro: false, n: 4 }],
  ['BEGIN; SET TRANSACTION READ WRITE; SET TRANSACTION READ ONLY; SELECT 1', 'tx-begin', { w: true, ro: true, n: 4, reason: 'read write' }],
  ['BEGIN; SET LOCAL transaction_read_only = off; SELECT 1', 'tx-begin', { w: true, n: 3 }],
  ['BEGIN; SELECT 1; SET TRANSACTION READ ONLY', 'tx-begin', { w: true, n: 3 }],
  ['BEGIN; SET search_path = a; SET TRANSACTION READ ONLY; SELECT 1', 'tx-begin', { w: true, n: 4, effects: [set('search_path', 'SET search_path = a')] }],
  ['BEGIN READ WRITE; SET TRANSACTION READ ONLY; SELECT 1', 'tx-begin', { w: true, ro: true, n: 3 }],
  ['BEGIN READ ONLY; SELECT 1; COMMIT; BEGIN; SELECT 2', 'tx-begin', { w: true, ro: true, n: 5 }],
  ['BEGIN; SET TRANSACTION READ ONLY; COMMIT; BEGIN; SELECT 1', 'tx-begin', { w: true, ro: true, n: 5 }],
  ['BEGIN; COMMIT; SET TRANSACTION READ ONLY', 'tx-begin', { w: true, n: 3 }],

  // What a hot standby refuses routes as a write, even in a read-only transaction
  ['BEGIN; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY; SELECT 1', 'tx-begin', { w: true, ro: true, n: 3, reason: 'serializable' }],
  ['BEGIN; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE; SELECT 1', 'tx-begin', { w: true, ro: true, n: 3 }],
  ['BEGIN; SET TRANSACTION READ ONLY; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; SELECT 1', 'tx-begin', { w: true, ro: true, n: 4 }],
  ['BEGIN ISOLATION LEVEL SERIALIZABLE; SET TRANSACTION READ ONLY; SELECT 1', 'tx-begin', { w: true, ro: true, n: 3 }],
  ['BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY', 'tx-begin', { w: true, ro: true, reason: 'serializable' }],
  ['START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE', 'tx-begin', { w: true, ro: true }],
  ['BEGIN READ ONLY ISOLATION LEVEL SERIALIZABLE; SELECT 1', 'tx-begin', { w: true, ro: true, n: 2 }],
  ['BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', 'tx-begin', { w: false, ro: true }],
  ['BEGIN READ ONLY; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; SELECT 1', 'tx-begin', { w: true, ro: true, n: 3 }],
  ['BEGIN READ ONLY; SET TRANSACTION READ WRITE', 'tx-begin', { w: true, ro: false, n: 2, reason: 'read write' }],
  [
    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT '00000003-0000001B-1'; SELECT 1",
    'tx-begin',
    { w: true, ro: true, n: 3, reason: 'snapshot' },
  ],
  ["SET transaction_isolation = 'serializable'", 'tx-control', { w: true, reason: 'serializable' }],
  ["SET LOCAL transaction_isolation TO 'SERIALIZABLE'", 'tx-control', { w: true }],
  ["SET transaction_isolation = 'repeatable read'", 'tx-control', { w: false }],
  ['SET transaction_read_only = off', 'tx-control', { w: true, reason: 'read write' }],
  ['SET transaction_read_only = on', 'tx-control', { w: false, ro: true }],
  ['RESET transaction_read_only', 'tx-control', { w: true }],
  ['SET transaction_read_only TO DEFAULT', 'tx-control', { w: true }],
  ['SET transaction_deferrable = on', 'tx-control', { w: false }],
  ['RESET transaction_isolation', 'tx-control', { w: false }],

  // Session defaults: tracked and replayed like any setting, never a reason to read from a standby
  [
    'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE',
    'session',
    { effects: [set('default_transaction_read_only', 'SET default_transaction_read_only = off')] },
  ],
  [
    'SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; BEGIN; SELECT 1',
    'tx-begin',
    {
      w: true,
      n: 3,
      effects: [set('default_transaction_read_only', 'SET default_transaction_read_only = on')],
    },
  ],
  [
    'SET default_transaction_read_only = on; BEGIN; SELECT 1',
    'tx-begin',
    {
      w: true,
      n: 3,
      effects: [set('default_transaction_read_only', 'SET default_transaction_read_only = on')],
    },
  ],
  [
    'SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY',
    'session',
    {
      effects: [
        set('default_transaction_isolation', "SET default_transaction_isolation = 'repeatable read'"),
        set('default_transaction_read_only', 'SET default_transaction_read_only = on'),
      ],
    },
  ],

  // transaction_timeout (PostgreSQL 17) is an ordinary session setting, not a transaction mode
  ["SET transaction_timeout = '5s'", 'session', { effects: [set('transaction_timeout', "SET transaction_timeout = '5s'")] }],
];
