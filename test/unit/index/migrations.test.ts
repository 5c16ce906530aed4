import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IndexError } from '../../../src/index/errors.js';
import { MIGRATIONS, applyMigrations } from '../../../src/index/migrations.js';

let db: Database.Database;

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
    expect(applyMigrations(db)).toEqual([1]);
    expect(tables()).toEqual(['instances', 'patients', 'schema_migrations', 'series', 'studies']);
    expect(applyMigrations(db)).toEqual([]);
    expect(db.prepare('SELECT id, name FROM schema_migrations').all()).toEqual([
      { id: 1, name: MIGRATIONS[0]?.name },
    ]);
  });

  it('applies only the migrations not yet recorded', () => {
    applyMigrations(db);
    const next = [...MIGRATIONS, { id: 2, name: 'extra', sql: 'CREATE TABLE extra (x TEXT)' }];
    expect(applyMigrations(db, undefined, next)).toEqual([2]);
    expect(applyMigrations(db, undefined, next)).toEqual([]);
    expect(tables()).toContain('extra');
  });

  it('rolls back a failing migration together with its record', () => {
    applyMigrations(db);
    const broken = [
      ...MIGRATIONS,
      { id: 2, name: 'broken', sql: 'CREATE TABLE half (x TEXT); CREATE TABLE patients (y)' },
    ];
    expect(() => applyMigrations(db, undefined, broken)).toThrow(/already exists/);
    expect(tables()).not.toContain('half');
    expect(db.prepare('SELECT MAX(id) AS id FROM schema_migrations').get()).toEqual({ id: 1 });
  });

  it('refuses a schema newer than the migrations it knows', () => {
    applyMigrations(db);
    db.prepare("INSERT INTO schema_migrations VALUES (2, 'future', '2030-01-01')").run();
    expect(() => applyMigrations(db)).toThrow(IndexError);
  });

  it('refuses migrations out of order', () => {
    const shuffled = [{ id: 2, name: 'two', sql: 'SELECT 1' }];
    expect(() => applyMigrations(db, undefined, shuffled)).toThrow(/position 1 has id 2/);
  });
});
