"""Issue 5 workload for psycopg 3 through Meridian (run by session-drivers-py.test.ts).

prepare_threshold=0: psycopg prepares every statement server-side (named _pg3_N statements), so
Meridian must prepare them lazily on whichever backend serves each request. Checks every result;
prints a JSON list of observations (which server port served which step) on stdout's last line.

usage: /usr/bin/python3 psycopg_workload.py DSN TABLE SCHEMA
"""
import json
import sys
import time

import psycopg
from psycopg import errors

EPOCH = "2020-01-01 00:00:00+00"
EPOCH_TOKYO = "2020-01-01 09:00:00+09"

dsn, table, schema = sys.argv[1:4]
obs = []


def see(step, kind, port, group=None):
    obs.append({"step": step, "kind": kind, "port": port, "group": group})


def eventually(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        v = check()
        if v is not None:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def expect(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


with psycopg.connect(dsn, autocommit=True, prepare_threshold=0, connect_timeout=10) as conn:
    one = lambda sql, params=None: conn.execute(sql, params).fetchone()  # noqa: E731

    for i in range(5):
        x, port = one("select %s::int + 1, inet_server_port()", (i,))
        expect(x, i + 1, "prepared read")
        see("prepared read", "read", port)
    for i in range(1, 6):
        rid, port = one(f"insert into {table}(id, v) values (%s, %s) returning id, inet_server_port()", (i, f"v{i}"))
        expect(rid, i, "prepared insert")
        see("prepared insert", "write", port)

    def count5():
        n, port = one(f"select count(*)::int, inet_server_port() from {table} where id <= 5")
        see("prepared count", "read", port)
        return n if n == 5 else None

    eventually("5 rows on a replica", count5)

    with conn.transaction():
        n, port = one(f"update {table} set n = n + %s where id = %s returning n, inet_server_port()", (10, 1))
        expect(n, 10, "update in tx")
        see("update in tx", "write", port, "tx1")
        n, port = one(f"select n, inet_server_port() from {table} where id = %s", (1,))
        expect(n, 10, "read in tx")
        see("read in write tx", "write", port, "tx1")

    def updated():
        n, port = one(f"select n, inet_server_port() from {table} where id = %s", (1,))
        see("prepared read after commit", "read", port)
        return n if n == 10 else None

    eventually("committed update on a replica", updated)

    # A read-only transaction (psycopg sends BEGIN READ ONLY) runs on a replica.
    conn.read_only = True
    conn.autocommit = False
    for i in range(3):
        x, port = one("select %s::int + 1, inet_server_port()", (i,))
        see("read in read-only tx", "read", port, "rotx")
    conn.commit()
    conn.autocommit = True
    conn.read_only = None

    conn.execute(f"set search_path = {schema}, public")
    for _ in range(5):
        v, sp, port = one("select v, current_setting('search_path'), inet_server_port() from marker")
        expect((v, sp), (schema, f"{schema}, public"), "marker via search_path")
        see("marker via search_path", "read", port)
    with conn.transaction():
        v, sp, port = one("select v, current_setting('search_path'), inet_server_port() from marker")
        expect(v, schema, "marker in tx")
        see("marker in write tx", "write", port, "tx2")
        _, port = one(f"insert into {table}(id, v) values (%s, %s) returning id, inet_server_port()", (6, "v6"))
        see("insert via search_path", "write", port, "tx2")

    conn.execute("set timezone = 'Asia/Tokyo'")
    tz_status = conn.info.parameter_status("TimeZone")
    expect(tz_status.decode() if isinstance(tz_status, bytes) else tz_status, "Asia/Tokyo", "ParameterStatus TimeZone")
    for _ in range(5):
        tz, t, port = one("select current_setting('TimeZone'), %s::timestamptz::text, inet_server_port()", (EPOCH,))
        expect((tz, t), ("Asia/Tokyo", EPOCH_TOKYO), "timezone read")
        see("timezone read", "read", port)
    with conn.transaction():
        tz, t, port = one("select current_setting('TimeZone'), %s::timestamptz::text, inet_server_port()", (EPOCH,))
        expect((tz, t), ("Asia/Tokyo", EPOCH_TOKYO), "timezone in tx")
        see("timezone in write tx", "write", port, "tx3")

    conn.execute("create temp table tmp_pin(a int)")
    (port,) = one("insert into tmp_pin values (%s) returning inet_server_port()", (1,))
    see("temp insert", "write", port, "temp")
    n, port = one("select count(*)::int, inet_server_port() from tmp_pin")
    expect(n, 1, "temp read")
    see("temp read", "write", port, "temp")
    _, port = one("select %s::int + 1, inet_server_port()", (1,))
    see("plain read while pinned", "write", port, "temp")
    conn.execute("drop table tmp_pin")
    _, port = one("select %s::int + 1, inet_server_port()", (2,))
    see("read after unpin", "read", port)

    try:
        with conn.transaction():
            _, port = one(f"insert into {table}(id, v) values (%s, %s) returning id, inet_server_port()", (100, "lost"))
            see("insert in failing tx", "write", port, "tx4")
            try:
                one("select 1/0")
                raise AssertionError("1/0 succeeded")
            except errors.DivisionByZero:
                pass
            try:
                one("select %s::int + 1, inet_server_port()", (1,))
                raise AssertionError("statement after an error succeeded")
            except errors.InFailedSqlTransaction:
                pass
            raise RuntimeError("roll back")
    except RuntimeError as e:
        expect(str(e), "roll back", "rollback")
    _, port = one(f"insert into {table}(id, v) values (%s, %s) returning id, inet_server_port()", (101, "kept"))
    see("insert after rollback", "write", port)

    def ids():
        got, port = one(f"select array_agg(id order by id), inet_server_port() from {table} where id >= 100")
        see("read ids", "read", port)
        return got if got is not None and 101 in got else None

    expect(eventually("row 101", ids), [101], "ids after the failed transaction")

    for _ in range(3):
        sp, tz, port = one("select current_setting('search_path'), current_setting('TimeZone'), inet_server_port()")
        expect((sp, tz), (f"{schema}, public", "Asia/Tokyo"), "settings at end")
        see("settings at end", "read", port)

print(json.dumps({"observations": obs, "psycopg": psycopg.__version__, "libpq": psycopg.pq.version()}))
