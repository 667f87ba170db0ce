-- Ioto's device database (shared/seeds/ioto-onetable-schema.md) as the relational source a
-- device fleet's backend would keep: devices, the status of the service (one row), and the
-- faults devices report. Severity is free text here, as many backends keep it: the OneTable
-- schema's enum is what checks it.

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    product TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE status (
    id INTEGER PRIMARY KEY,
    parameters JSONB NOT NULL,
    version TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE faults (
    id BIGINT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (id),
    occurred_at TIMESTAMPTZ NOT NULL,
    source TEXT NOT NULL,
    severity TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    -- When the fault may be forgotten; NULL keeps it.
    expires TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
