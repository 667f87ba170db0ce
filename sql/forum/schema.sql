-- Forum thread events (shared/seeds/forum-threads.md) as the relational source a forum backend
-- would keep: a thread per participant and item with its status, the history of its status,
-- attempts at the item and the answers submitted in them, messages, and the websocket
-- subscriptions of users watching a thread, each with an expiry.

CREATE TYPE thread_status AS ENUM ('waiting_for_participant', 'waiting_for_trainer', 'closed');
CREATE TYPE status_change AS ENUM ('opened', 'closed');

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    login TEXT NOT NULL,
    is_trainer BOOLEAN NOT NULL DEFAULT false
);

-- A thread exists once opened; a participant and item without one has never had a thread.
CREATE TABLE threads (
    participant_id BIGINT NOT NULL REFERENCES users (id),
    item_id BIGINT NOT NULL,
    status thread_status NOT NULL,
    latest_update_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (participant_id, item_id)
);

CREATE TABLE thread_status_history (
    id BIGINT PRIMARY KEY,
    participant_id BIGINT NOT NULL,
    item_id BIGINT NOT NULL,
    change status_change NOT NULL,
    changed_by BIGINT NOT NULL REFERENCES users (id),
    changed_at TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (participant_id, item_id) REFERENCES threads (participant_id, item_id)
);

CREATE TABLE attempts (
    id BIGINT PRIMARY KEY,
    participant_id BIGINT NOT NULL REFERENCES users (id),
    item_id BIGINT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL
);

-- Score and validation are NULL until the answer is graded.
CREATE TABLE answers (
    id BIGINT PRIMARY KEY,
    attempt_id BIGINT NOT NULL REFERENCES attempts (id),
    author_id BIGINT NOT NULL REFERENCES users (id),
    submitted_at TIMESTAMPTZ NOT NULL,
    score NUMERIC(5, 2),
    validated BOOLEAN
);

CREATE TABLE messages (
    id BIGINT PRIMARY KEY,
    participant_id BIGINT NOT NULL,
    item_id BIGINT NOT NULL,
    author_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    content TEXT NOT NULL
);

CREATE TABLE thread_subscriptions (
    participant_id BIGINT NOT NULL,
    item_id BIGINT NOT NULL,
    connection_id TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (participant_id, item_id, connection_id)
);
