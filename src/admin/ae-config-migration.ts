import type { Migration } from '../index/migrations.js';

/**
 * The AE configuration administrators edit at run time: the PACS nodes and the allowed peers
 * (seeded from the configuration file on first start, the source of truth afterwards), and the
 * audit of every change with who made it and the entry before and after.
 */
export const AE_CONFIG_MIGRATION: Migration = {
  id: 6,
  name: 'AE configuration: PACS nodes, allowed peers, admin audit',
  sql: `
    CREATE TABLE ae_pacs_nodes (
      name       TEXT PRIMARY KEY,
      -- The node as the configuration gives it, defaults filled (PacsNodeSetting), JSON text.
      settings   TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    );

    CREATE TABLE ae_allowed_peers (
      id         INTEGER PRIMARY KEY,
      ae_title   TEXT NOT NULL,
      -- '' when the peer may connect from any host.
      host       TEXT NOT NULL DEFAULT '',
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      UNIQUE (ae_title, host)
    );

    -- One row per key: 'seeded-at' says the configuration file has been copied in once.
    CREATE TABLE ae_config_state (
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );

    CREATE TABLE admin_audit (
      id          INTEGER PRIMARY KEY,
      at          TEXT NOT NULL,
      -- Who: the administrator's user name, 'token' for the bearer token, 'config' for seeding.
      actor       TEXT NOT NULL,
      -- create | update | delete | seed | resend
      action      TEXT NOT NULL,
      -- pacs-node | allowed-peer | outbox
      entity      TEXT NOT NULL,
      entity_key  TEXT NOT NULL,
      before_json TEXT,
      after_json  TEXT
    );
    CREATE INDEX admin_audit_at ON admin_audit (at);
  `,
};
