"""``fetch_rows``: every row of a query, in its order and with its types, in one step on SQLite
(see ``store/state/packed.py``) and as usual on PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from error_analytics.store.state.packed import fetch_rows

METADATA = sa.MetaData()
SAMPLE = sa.Table(
    "packed_sample",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("text", sa.Text),
    sa.Column("at", sa.DateTime),
    sa.Column("day", sa.Date),
    sa.Column("count", sa.Integer),
)
ROWS = [
    {
        "id": 1,
        "text": 'quote " and \\ backslash',
        "at": datetime(2026, 1, 2, 3, 4, 5, 600),
        "day": date(2026, 1, 2),
        "count": 3,
    },
    {"id": 2, "text": None, "at": None, "day": None, "count": None},
    {
        "id": 3,
        "text": "ünïcode ✓\nnew line\ttab",
        "at": datetime(2025, 12, 31, 23, 59, 59),
        "day": date(2025, 12, 31),
        "count": -1,
    },
    {"id": 4, "text": "", "at": datetime(2026, 6, 1), "day": date(2026, 6, 1), "count": 0},
]


def test_rows_come_back_as_the_driver_gives_them(db_url):
    engine = sa.create_engine(db_url)
    try:
        METADATA.create_all(engine)
        with engine.begin() as connection:
            connection.execute(SAMPLE.insert(), ROWS)
        query = sa.select(SAMPLE.c.text, SAMPLE.c.at, SAMPLE.c.day, SAMPLE.c.count).order_by(
            SAMPLE.c.id.desc()
        )
        with engine.connect() as connection:
            expected = [tuple(row) for row in connection.execute(query)]
            packed = fetch_rows(connection, query, datetimes=[1], dates=[2])
            empty = fetch_rows(connection, query.where(SAMPLE.c.id > 99), datetimes=[1])
        assert packed == expected
        assert [row[0] for row in packed] == [row["text"] for row in reversed(ROWS)]
        assert empty == []
    finally:
        METADATA.drop_all(engine)
        engine.dispose()
