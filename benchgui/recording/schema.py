"""SQL schema of the local session store, as forward migrations.

``MIGRATIONS[n]`` takes the database from version ``n`` to ``n + 1``. Never edit a released
migration; append a new one. Values are REAL and nullable: SQLite stores NaN as NULL.
"""

MIGRATIONS: list[str] = [
    # 0 -> 1: sessions, channels, samples, events
    """
    CREATE TABLE sessions (
        key INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        started_ns INTEGER NOT NULL,
        ended_ns INTEGER,
        operator TEXT NOT NULL DEFAULT '',
        battery_id TEXT NOT NULL DEFAULT '',
        notes TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL DEFAULT 'live',
        sample_count INTEGER NOT NULL DEFAULT 0,
        last_sample_ns INTEGER,
        info_json TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE channels (
        key INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        unit TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL DEFAULT '',
        quantity TEXT NOT NULL DEFAULT '',
        label TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE samples (
        session INTEGER NOT NULL REFERENCES sessions(key),
        channel INTEGER NOT NULL REFERENCES channels(key),
        t_ns INTEGER NOT NULL,
        value REAL,
        flags INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX samples_by_time ON samples(session, channel, t_ns);
    CREATE TABLE events (
        key INTEGER PRIMARY KEY,
        session INTEGER NOT NULL REFERENCES sessions(key),
        t_ns INTEGER NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        data_json TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_by_time ON events(session, t_ns);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
