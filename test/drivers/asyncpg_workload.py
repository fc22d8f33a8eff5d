"""Issue 5 workload for asyncpg through Meridian (run by session-drivers-py.test.ts).

asyncpg prepares every statement (named __asyncpg_stmt_N__, cached per connection) and COPYs in
binary: copy_records_to_table (its column introspection is a prepared read, the COPY FROM a write)
and copy_from_table / copy_from_query (COPY TO, a read). Checks every result; prints a JSON object
with the observations (which server port served which step) on stdout.

usage: /usr/bin/python3 asyncpg_workload.py DSN TABLE SCHEMA
"""
import asyncio
import io
import json
import sys
import time

import asyncpg

EPOCH = "2020-01-01 00:00:00+00"
EPOCH_TOKYO = "2020-01-01 09:00:00+09"
BINARY_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"

dsn, table, schema = sys.argv[1:4]
obs = []


def see(step, kind, port, group=None):
    obs.append({"step": step, "kind": kind, "port": port, "group": group})


def expect(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


async def eventually(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        v = await check()
        if v is not None:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        await asyncio.sleep(0.05)


async def main():
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await workload(conn)
    finally:
        await conn.close(timeout=5)


async def workload(conn):
    add = await conn.prepare("select $1::int + 1 as x, inet_server_port() as port")
    for i in range(5):
        r = await add.fetchrow(i)
        expect(r["x"], i + 1, "prepared read")
        see("prepared read", "read", r["port"])
    ins = await conn.prepare(f"insert into {table}(id, v) values ($1, $2) returning id, inet_server_port() as port")
    for i in range(1, 6):
        r = await ins.fetchrow(i, f"v{i}")
        expect(r["id"], i, "prepared insert")
        see("prepared insert", "write", r["port"])

    async def count(n_expected, upto):
        r = await conn.fetchrow(f"select count(*)::int as n, inet_server_port() as port from {table} where id <= $1", upto)
        see("prepared count", "read", r["port"])
        return r["n"] if r["n"] == n_expected else None

    await eventually("5 rows on a replica", lambda: count(5, 5))

    async with conn.transaction():
        r = await conn.fetchrow(f"update {table} set n = n + $1 where id = $2 returning n, inet_server_port() as port", 10, 1)
        expect(r["n"], 10, "update in tx")
        see("update in tx", "write", r["port"], "tx1")
        r = await conn.fetchrow(f"select n, inet_server_port() as port from {table} where id = $1", 1)
        expect(r["n"], 10, "read in tx")
        see("read in write tx", "write", r["port"], "tx1")

    async def updated():
        r = await conn.fetchrow(f"select n, inet_server_port() as port from {table} where id = $1", 1)
        see("prepared read after commit", "read", r["port"])
        return r["n"] if r["n"] == 10 else None

    await eventually("committed update on a replica", updated)

    async with conn.transaction(readonly=True):
        for i in range(3):
            r = await add.fetchrow(i)
            see("read in read-only tx", "read", r["port"], "rotx")

    # Binary COPY FROM (copy_records_to_table): rows 1000..1999, then read back.
    records = [(1000 + i, f"copy-{i}", i) for i in range(1000)]
    status = await conn.copy_records_to_table(table, records=records, columns=["id", "v", "n"])
    expect(status, "COPY 1000", "copy_records_to_table")

    async def copied():
        r = await conn.fetchrow(f"select count(*)::int as n, sum(n)::int as s, inet_server_port() as port from {table} where id >= 1000 and id < 2000")
        see("count copied rows", "read", r["port"])
        return r if r["n"] == 1000 else None

    r = await eventually("1000 copied rows on a replica", copied)
    expect(r["s"], sum(range(1000)), "sum of copied n")

    # Binary COPY TO (copy_from_table) and a CSV COPY of a query naming the serving port.
    async def copy_out():
        buf = io.BytesIO()
        await conn.copy_from_query(f"select count(*), inet_server_port() from {table} where id >= 1000 and id < 2000", output=buf, format="csv")
        n, port = buf.getvalue().decode().strip().split(",")
        see("copy to (query)", "read", int(port))
        return int(n) if int(n) == 1000 else None

    await eventually("COPY TO of the copied rows", copy_out)
    # Each COPY is routed on its own: another node may still be replicating the rows.
    async def copy_table():
        out = io.BytesIO()
        status = await conn.copy_from_table(table, output=out, format="binary", columns=["id", "v", "n"])
        if not status.startswith("COPY "):
            raise AssertionError(f"copy_from_table status {status!r}")
        return (status, out.getvalue()) if int(status.split()[1]) >= 1000 else None

    status, data = await eventually("binary COPY TO of all rows", copy_table)
    expect(data[:11], BINARY_COPY_SIGNATURE, "binary COPY signature")

    await conn.execute(f"set search_path = {schema}, public")
    for _ in range(5):
        r = await conn.fetchrow("select v, current_setting('search_path') as sp, inet_server_port() as port from marker")
        expect((r["v"], r["sp"]), (schema, f"{schema}, public"), "marker via search_path")
        see("marker via search_path", "read", r["port"])
    async with conn.transaction():
        r = await conn.fetchrow("select v, inet_server_port() as port from marker")
        expect(r["v"], schema, "marker in tx")
        see("marker in write tx", "write", r["port"], "tx2")
        r = await ins.fetchrow(6, "v6")
        see("insert via search_path", "write", r["port"], "tx2")

    await conn.execute("set timezone = 'Asia/Tokyo'")
    expect(conn.get_settings().TimeZone, "Asia/Tokyo", "ParameterStatus TimeZone")
    tzq = await conn.prepare("select current_setting('TimeZone') as tz, $1::text::timestamptz::text as t, inet_server_port() as port")
    for _ in range(5):
        r = await tzq.fetchrow(EPOCH)
        expect((r["tz"], r["t"]), ("Asia/Tokyo", EPOCH_TOKYO), "timezone read")
        see("timezone read", "read", r["port"])
    async with conn.transaction():
        r = await tzq.fetchrow(EPOCH)
        expect((r["tz"], r["t"]), ("Asia/Tokyo", EPOCH_TOKYO), "timezone in tx")
        see("timezone in write tx", "write", r["port"], "tx3")

    await conn.execute("create temp table tmp_pin(a int)")
    r = await conn.fetchrow("insert into tmp_pin values ($1) returning inet_server_port() as port", 1)
    see("temp insert", "write", r["port"], "temp")
    r = await conn.fetchrow("select count(*)::int as n, inet_server_port() as port from tmp_pin")
    expect(r["n"], 1, "temp read")
    see("temp read", "write", r["port"], "temp")
    see("plain read while pinned", "write", (await add.fetchrow(1))["port"], "temp")
    await conn.execute("drop table tmp_pin")
    see("read after unpin", "read", (await add.fetchrow(2))["port"])

    try:
        async with conn.transaction():
            r = await ins.fetchrow(100, "lost")
            see("insert in failing tx", "write", r["port"], "tx4")
            try:
                await conn.fetchval("select 1/0")
                raise AssertionError("1/0 succeeded")
            except asyncpg.exceptions.DivisionByZeroError:
                pass
            try:
                await add.fetchrow(1)
                raise AssertionError("statement after an error succeeded")
            except asyncpg.exceptions.InFailedSQLTransactionError:
                pass
            raise RuntimeError("roll back")
    except RuntimeError as e:
        expect(str(e), "roll back", "rollback")
    see("insert after rollback", "write", (await ins.fetchrow(101, "kept"))["port"])

    async def ids():
        r = await conn.fetchrow(f"select array_agg(id order by id) as ids, inet_server_port() as port from {table} where id >= 100 and id < 1000")
        see("read ids", "read", r["port"])
        return list(r["ids"]) if r["ids"] is not None and 101 in r["ids"] else None

    expect(await eventually("row 101", ids), [101], "ids after the failed transaction")

    for _ in range(3):
        r = await conn.fetchrow("select current_setting('search_path') as sp, current_setting('TimeZone') as tz, inet_server_port() as port")
        expect((r["sp"], r["tz"]), (f"{schema}, public", "Asia/Tokyo"), "settings at end")
        see("settings at end", "read", r["port"])


asyncio.run(main())
print(json.dumps({"observations": obs, "asyncpg": asyncpg.__version__}))
