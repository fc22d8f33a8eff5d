"""Many distinct prepared statements from psycopg 3 through Meridian (session-prepared-limits.test.ts).

prepare_threshold=0 prepares every statement; past prepared_max (100) psycopg < 3.2 drops its
oldest with SQL `DEALLOCATE _pg3_N` (an extended-protocol unnamed statement), which must work
although the backends only know Meridian's global names. Also SQL-level DEALLOCATE of a
protocol-level statement by simple query, as Rails does. Each statement reports the number of
prepared statements on the backend serving it; prints a JSON report.

usage: /usr/bin/python3 psycopg_many.py DSN COUNT
"""
import json
import sys

import psycopg
from psycopg import pq

dsn, count = sys.argv[1], int(sys.argv[2])
max_prepared = 0
with psycopg.connect(dsn, autocommit=True, prepare_threshold=0, connect_timeout=10) as conn:
    for i in range(count):
        x, n = conn.execute(f"select %s::int + {i}, (select count(*)::int from pg_prepared_statements)", (i,)).fetchone()
        if x != 2 * i:
            raise AssertionError(f"statement {i}: {x}")
        max_prepared = max(max_prepared, n)
    # Reuse of recent ones (still in psycopg's cache: Bind only, maybe on another backend).
    for i in range(count - 50, count):
        (x, _) = conn.execute(f"select %s::int + {i}, (select count(*)::int from pg_prepared_statements)", (1,)).fetchone()
        if x != 1 + i:
            raise AssertionError(f"reused statement {i}: {x}")
    # Rails-style: protocol Parse under a name, SQL DEALLOCATE by simple query, the name free again.
    pc = conn.pgconn
    for sql, want in ((b"select 1", b"1"), (b"select 2", b"2")):
        r = pc.prepare(b"rails_a1", sql)
        assert r.status == pq.ExecStatus.COMMAND_OK, r.error_message
        r = pc.exec_prepared(b"rails_a1", [])
        assert r.get_value(0, 0) == want, r.error_message
        r = pc.exec_(b"DEALLOCATE rails_a1")
        assert r.status == pq.ExecStatus.COMMAND_OK and r.command_status == b"DEALLOCATE", r.error_message
    r = pc.exec_prepared(b"rails_a1", [])
    assert r.error_field(pq.DiagnosticField.SQLSTATE) == b"26000", r.status

print(json.dumps({"statements": count, "maxPrepared": max_prepared, "psycopg": psycopg.__version__}))
