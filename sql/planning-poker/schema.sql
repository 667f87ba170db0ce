-- Planning poker (shared/seeds/planning-poker.md) as a relational source of our own making:
-- rooms, and the users connected to each room.

CREATE TABLE rooms (
    room_id TEXT PRIMARY KEY,
    host_key TEXT NOT NULL,
    valid_sizes TEXT[] NOT NULL,
    is_revealed BOOLEAN NOT NULL DEFAULT false,
    created_on TIMESTAMPTZ NOT NULL,
    updated_on TIMESTAMPTZ NOT NULL
);

CREATE TABLE room_users (
    room_id TEXT NOT NULL REFERENCES rooms (room_id),
    user_key TEXT NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT,
    vote TEXT,
    connection_id TEXT,
    created_on TIMESTAMPTZ NOT NULL,
    updated_on TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (room_id, user_key)
);
