"""Storage of prediction rows on PostgreSQL: BRIN vs B-tree on `timestamp` vs partitions.

Builds three copies of a prediction-like table with N rows (default 5,000,000) arriving in
time order over 90 days, 5% of them late (up to a day), generated inside PostgreSQL:
  - `brin`:  plain table + BRIN(timestamp), plain minmax
  - `multi`: plain table + BRIN(timestamp minmax_multi)  (what ModelWatch does)
  - `btree`: plain table + B-tree(timestamp)
  - `part`:  partitioned by day on timestamp (no global unique (model_id, client_id))
and prints index sizes, the time to load, a one-hour and a one-day range read, and the time
to prune the oldest 10 days (batched DELETE for the plain tables, DROP for partitions).

    .venv/bin/python bench/prediction_storage.py [--rows 5000000]
"""

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import ADMIN_DSN  # noqa: E402

DB = "mw_tel_bench_storage"
TABLES = ("brin", "multi", "btree", "part")
COLUMNS = """id bigserial, model_id bigint NOT NULL, client_id varchar(200),
    timestamp timestamptz NOT NULL, features jsonb NOT NULL, latency_ms double precision"""
ROWS_SQL = """
INSERT INTO {table} (model_id, client_id, timestamp, features, latency_ms)
SELECT 1, 'c' || g,
       timestamptz '2026-01-01' + (g * interval '90 days' / {rows})
         - CASE WHEN g % 20 = 0 THEN (g % 1440) * interval '1 minute' ELSE interval '0' END,
       jsonb_build_object('a', g % 97, 'b', (g % 13)::text), (g % 50)::float
FROM generate_series(1, {rows}) AS g"""


def connect(dbname: str = DB):
    conn = psycopg2.connect(ADMIN_DSN.rsplit("/", 1)[0] + f"/{dbname}")
    conn.autocommit = True
    return conn


def admin(*statements: str) -> None:
    """Run statements on the maintenance database, outside any transaction."""
    conn = connect("postgres")
    with conn.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    conn.close()


def run(cursor, sql: str) -> float:
    began = time.perf_counter()
    cursor.execute(sql)
    return time.perf_counter() - began


def create_tables(cursor) -> None:
    cursor.execute(f"CREATE TABLE brin ({COLUMNS}, PRIMARY KEY (id))")
    cursor.execute(
        "CREATE INDEX brin_ts ON brin USING brin (timestamp) WITH (pages_per_range = 32)"
    )
    cursor.execute(f"CREATE TABLE multi ({COLUMNS}, PRIMARY KEY (id))")
    cursor.execute(
        "CREATE INDEX multi_ts ON multi USING brin "
        "(timestamp timestamptz_minmax_multi_ops) WITH (pages_per_range = 32)"
    )
    cursor.execute(f"CREATE TABLE btree ({COLUMNS}, PRIMARY KEY (id))")
    cursor.execute("CREATE INDEX btree_ts ON btree (timestamp)")
    cursor.execute(
        f"CREATE TABLE part ({COLUMNS}, PRIMARY KEY (id, timestamp)) PARTITION BY RANGE (timestamp)"
    )
    cursor.execute("""DO $$ DECLARE d date; BEGIN
        FOR d IN SELECT generate_series(date '2025-12-30', date '2026-04-02', interval '1 day')
        LOOP EXECUTE format('CREATE TABLE part_%s PARTITION OF part FOR VALUES FROM (%L) TO (%L)',
                            to_char(d, 'YYYYMMDD'), d, d + 1);
        END LOOP; END $$""")


def sizes(cursor) -> dict[str, str]:
    cursor.execute(
        "SELECT 'brin', pg_size_pretty(pg_relation_size('brin_ts')) UNION ALL "
        "SELECT 'multi', pg_size_pretty(pg_relation_size('multi_ts')) UNION ALL "
        "SELECT 'btree', pg_size_pretty(pg_relation_size('btree_ts')) UNION ALL "
        "SELECT 'table', pg_size_pretty(pg_relation_size('btree'))"
    )
    return dict(cursor.fetchall())


def range_read(cursor, table: str, span: str) -> float:
    sql = (
        f"SELECT count(*), avg(latency_ms) FROM {table} WHERE timestamp >= "
        f"timestamptz '2026-02-10' AND timestamp < timestamptz '2026-02-10' + interval '{span}'"
    )
    run(cursor, sql)  # warm the cache: compare index work, not disk
    return min(run(cursor, sql) for _ in range(3))


def prune_plain(cursor, table: str, batch: int = 50_000) -> float:
    began = time.perf_counter()
    while True:
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE "
            f"timestamp < timestamptz '2026-01-11' LIMIT {batch})"
        )
        if cursor.rowcount == 0:
            return time.perf_counter() - began


def prune_partitions(cursor) -> float:
    began, day = time.perf_counter(), date(2025, 12, 30)
    while day < date(2026, 1, 11):
        cursor.execute(f"DROP TABLE part_{day:%Y%m%d}")
        day += timedelta(days=1)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    args = parser.parse_args()
    admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB}")
    conn = connect()
    with conn.cursor() as cursor:
        create_tables(cursor)
        loads = {t: run(cursor, ROWS_SQL.format(table=t, rows=args.rows)) for t in TABLES}
        cursor.execute("VACUUM ANALYZE")
        print(f"{args.rows:,} rows over 90 days, 5% late; timestamp index sizes: {sizes(cursor)}")
        for table in TABLES:
            hour, day = range_read(cursor, table, "1 hour"), range_read(cursor, table, "1 day")
            print(
                f"{table:5s}: load {loads[table]:6.1f} s   1-hour read {hour * 1000:7.1f} ms   "
                f"1-day read {day * 1000:7.1f} ms"
            )
        deletes = ", ".join(f"{t} {prune_plain(cursor, t):.1f} s" for t in TABLES[:-1])
        print(
            f"prune oldest 10 days: batched DELETE {deletes}; partitions "
            f"{prune_partitions(cursor) * 1000:.0f} ms (DROP)"
        )
    conn.close()
    admin(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
