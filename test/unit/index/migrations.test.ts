import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IndexError } from '../../../src/index/errors.js';
import { MIGRATIONS, applyMigrations } from '../../../src/index/migrations.js';

let db: Database.Database;
const LAST = MIGRATIONS.at(-1)!.id;

beforeEach(() => {
  db = new Database(':memory:');
});

afterEach(() => db.close());

const tables = (): string[] =>
  db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    )
    .all()
    .map((row) => row.name);

describe('MIGRATIONS', () => {
  it('numbers migrations 1, 2, 3, … in order', () => {
    expect(MIGRATIONS.map((m) => m.id)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });
});

describe('applyMigrations', () => {
  it('creates the schema once and records it', () => {
    expect(applyMigrations(db)).toEqual(MIGRATIONS.map((m) => m.id));
    expect(tables()).toEqual([
      'admin_audit',
      'ae_allowed_peers',
      'ae_config_state',
      'ae_pacs_nodes',
      'hl7_messages',
      'instances',
      'manifests',
      'obscuration_events',
      'outbox',
      'package_cache',
      'patients',
      'report_accessions',
      'report_studies',
      'reports',
      'retrieval_audit',
      'schema_migrations',
      'series',
      'studies',
    ]);
    expect(applyMigrations(db)).toEqual([]);
    expect(db.prepare('SELECT id, name FROM schema_migrations').all()).toEqual(
      MIGRATIONS.map(({ id, name }) => ({ id, name })),
    );
  });

  it('upgrades a database at migration 1 to the outbox, keeping its rows', () => {
    applyMigrations(db, undefined, MIGRATIONS.slice(0, 1));
    db.prepare("INSERT INTO patients (patient_id, issuer) VALUES ('PAT-1', '')").run();
    expect(applyMigrations(db)).toEqual(MIGRATIONS.slice(1).map((m) => m.id));
    expect(tables()).toContain('outbox');
    expect(db.prepare('SELECT COUNT(*) AS n FROM patients').get()).toEqual({ n: 1 });
  });

  it('applies only the migrations not yet recorded', () => {
    applyMigrations(db);
    const id = LAST + 1;
    const next = [...MIGRATIONS, { id, name: 'extra', sql: 'CREATE TABLE extra (x TEXT)' }];
    expect(applyMigrations(db, undefined, next)).toEqual([id]);
    expect(applyMigrations(db, undefined, next)).toEqual([]);
    expect(tables()).toContain('extra');
  });

  it('rolls back a failing migration together with its record', () => {
    applyMigrations(db);
    const broken = [
      ...MIGRATIONS,
      {
        id: LAST + 1,
        name: 'broken',
        sql: 'CREATE TABLE half (x TEXT); CREATE TABLE patients (y)',
      },
    ];
    expect(() => applyMigrations(db, undefined, broken)).toThrow(/already exists/);
    expect(tables()).not.toContain('half');
    expect(db.prepare('SELECT MAX(id) AS id FROM schema_migrations').get()).toEqual({
      id: LAST,
    });
  });

  it('refuses a schema newer than the migrations it knows', () => {
    applyMigrations(db);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(
      LAST + 1,
      'future',
      '2030-01-01',
    );
    expect(() => applyMigrations(db)).toThrow(IndexError);
  });

  it('refuses migrations out of order', () => {
    const shuffled = [{ id: 2, name: 'two', sql: 'SELECT 1' }];
    expect(() => applyMigrations(db, undefined, shuffled)).toThrow(/position 1 has id 2/);
  });
});
