"""Large results over TLS with psycopg 3 (libpq), read fast and read slowly.

psycopg waits for the socket itself (not through libpq), so a TLS record that libpq took only in
part — the rest decrypted inside OpenSSL, nothing left on the socket — would leave it waiting for
ever at the end of a result. Prints one JSON object: per case, rows received and seconds taken.
Usage: psycopg_tls_large.py DSN ROWS[,ROWS...]
"""
import json
import sys
import time

import psycopg

dsn = sys.argv[1]
sizes = [int(x) for x in sys.argv[2].split(",")]
SQL = "select i, repeat('x', 10240) from generate_series(1, %s) i"
cases = []
with psycopg.connect(dsn) as conn:
    ssl = conn.pgconn.ssl_in_use
    for n in sizes:
        t0 = time.monotonic()
        rows = conn.execute(SQL % n).fetchall()
        cases.append({"mode": "fetchall", "rows": len(rows), "seconds": round(time.monotonic() - t0, 3)})
    # A slow reader: rows streamed one at a time (single-row mode), with a pause every 64 rows,
    # so the server's output backs up through Meridian to the client's socket.
    n = max(sizes)
    t0 = time.monotonic()
    got = 0
    with conn.cursor() as cur:
        for _ in cur.stream(SQL % n):
            got += 1
            if got % 64 == 0:
                time.sleep(0.01)
    cases.append({"mode": "slow-stream", "rows": got, "seconds": round(time.monotonic() - t0, 3)})
print(json.dumps({"ssl": ssl, "cases": cases, "observations": []}))
