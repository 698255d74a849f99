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
    # 1 -> 2: store-and-forward bookkeeping (benchgui.recording.ledger). Per sink (one InfluxDB
    # target, named by URL and database/bucket): how far samples (by rowid) and events (by key)
    # were acknowledged, per-session counts, and the points the server refused as bad data.
    """
    CREATE TABLE forward_cursors (
        sink TEXT PRIMARY KEY,
        sample_rowid INTEGER NOT NULL DEFAULT 0,
        event_key INTEGER NOT NULL DEFAULT 0,
        last_success_ns INTEGER
    );
    CREATE TABLE forward_sessions (
        sink TEXT NOT NULL,
        session INTEGER NOT NULL REFERENCES sessions(key),
        forwarded INTEGER NOT NULL DEFAULT 0,
        quarantined INTEGER NOT NULL DEFAULT 0,
        meta_sent TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (sink, session)
    );
    CREATE TABLE forward_quarantine (
        key INTEGER PRIMARY KEY,
        sink TEXT NOT NULL,
        kind TEXT NOT NULL,
        ref INTEGER NOT NULL,
        session INTEGER,
        line TEXT NOT NULL,
        error TEXT NOT NULL,
        at_ns INTEGER NOT NULL
    );
    CREATE INDEX forward_quarantine_by_sink ON forward_quarantine(sink, key);
    """,
    # 2 -> 3: the bench that recorded a session (its ``bench`` tag in InfluxDB); '' for sessions
    # recorded before benches had names, and for imports that do not name one
    """
    ALTER TABLE sessions ADD COLUMN bench TEXT NOT NULL DEFAULT '';
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
