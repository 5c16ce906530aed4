import type { Database } from 'better-sqlite3';
import { pino, type Logger } from 'pino';
import type { PeerSetting } from '../config/formats.js';
import type { PacsNodeSetting } from '../config/pacs-nodes.js';
import { toIndexError } from '../index/errors.js';
import { applyMigrations } from '../index/migrations.js';
import { openDatabase } from '../index/sqlite.js';

/** An allowed peer as the index keeps it. */
export interface PeerRecord {
  id: number;
  aeTitle: string;
  /** Undefined: the peer may connect from any host. */
  host: string | undefined;
}

export type AuditAction =
  'create' | 'update' | 'delete' | 'seed' | 'resend' | 'login-failed' | 'lockout';
export type AuditEntity = 'pacs-node' | 'allowed-peer' | 'outbox' | 'admin-login';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: AuditAction;
  entity: AuditEntity;
  entityKey: string;
  before: unknown;
  after: unknown;
}

/** Why a change was refused: no such entry, or one with the same identity exists already. */
export class AeConfigError extends Error {
  override readonly name = 'AeConfigError';
  constructor(
    readonly reason: 'not-found' | 'conflict',
    message: string,
    /** The request field the conflict is about, for a 409 that names it. */
    readonly field?: string,
  ) {
    super(message);
  }
}

interface NodeRow {
  name: string;
  settings: string;
}
interface PeerRow {
  id: number;
  ae_title: string;
  host: string;
}
interface AuditRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  entity: string;
  entity_key: string;
  before_json: string | null;
  after_json: string | null;
}

const peerOf = (row: PeerRow): PeerRecord => ({
  id: row.id,
  aeTitle: row.ae_title,
  host: row.host === '' ? undefined : row.host,
});

const json = (value: unknown): string | null =>
  value === undefined ? null : JSON.stringify(value);

/**
 * The PACS nodes and allowed peers administrators edit, with the audit of every change, on a
 * connection of its own to the index database. Every change and its audit row commit together.
 */
export class AeConfigStore {
  #db: Database;
  #log: Logger;
  #now: () => Date;

  private constructor(db: Database, log: Logger, now: () => Date) {
    this.#db = db;
    this.#log = log;
    this.#now = now;
  }

  static open(path: string, options: { logger?: Logger; now?: () => Date } = {}): AeConfigStore {
    const log = (options.logger ?? pino({ enabled: false })).child({ component: 'ae-config' });
    const db = openDatabase(path);
    try {
      applyMigrations(db, log);
      return new AeConfigStore(db, log, options.now ?? (() => new Date()));
    } catch (error) {
      db.close();
      throw error;
    }
  }

  #run<T>(operation: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof AeConfigError) throw error;
      throw toIndexError(`AE configuration ${operation}`, error);
    }
  }

  #audit(
    actor: string,
    action: AuditAction,
    entity: AuditEntity,
    entityKey: string,
    before: unknown,
    after: unknown,
  ): void {
    this.#db
      .prepare(
        `INSERT INTO admin_audit (at, actor, action, entity, entity_key, before_json, after_json)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(this.#now().toISOString(), actor, action, entity, entityKey, json(before), json(after));
  }

  /** True once the configuration file has been copied into the index. */
  isSeeded(): boolean {
    return this.#run(
      'read',
      () =>
        this.#db.prepare("SELECT value FROM ae_config_state WHERE key = 'seeded-at'").get() !==
        undefined,
    );
  }

  /** Copy the configuration's nodes and peers into the index, once (first start). */
  seed(nodes: readonly PacsNodeSetting[], peers: readonly PeerSetting[]): void {
    this.#run('seed', () =>
      this.#db
        .transaction(() => {
          if (this.isSeeded()) return;
          const at = this.#now().toISOString();
          for (const node of nodes) {
            this.#insertNode(node, at);
            this.#audit('config', 'seed', 'pacs-node', node.name, undefined, node);
          }
          const seen = new Set<string>();
          for (const peer of peers) {
            const host = peer.host ?? '';
            if (seen.has(`${peer.aeTitle}@${host}`)) continue;
            seen.add(`${peer.aeTitle}@${host}`);
            const id = this.#insertPeer(peer.aeTitle, host, at);
            this.#audit('config', 'seed', 'allowed-peer', String(id), undefined, {
              aeTitle: peer.aeTitle,
              host: peer.host,
            });
          }
          this.#db
            .prepare("INSERT INTO ae_config_state (key, value) VALUES ('seeded-at', ?)")
            .run(at);
        })
        .immediate(),
    );
  }

  #insertNode(node: PacsNodeSetting, at: string): void {
    this.#db
      .prepare(
        'INSERT INTO ae_pacs_nodes (name, settings, created_at, updated_at) VALUES (?, ?, ?, ?)',
      )
      .run(node.name, JSON.stringify(node), at, at);
  }

  #insertPeer(aeTitle: string, host: string, at: string): number {
    const result = this.#db
      .prepare(
        'INSERT INTO ae_allowed_peers (ae_title, host, created_at, updated_at) VALUES (?, ?, ?, ?)',
      )
      .run(aeTitle, host, at, at);
    return Number(result.lastInsertRowid);
  }

  listNodes(): PacsNodeSetting[] {
    return this.#run('read', () =>
      this.#db
        .prepare<[], NodeRow>('SELECT name, settings FROM ae_pacs_nodes ORDER BY name')
        .all()
        .map((row) => JSON.parse(row.settings) as PacsNodeSetting),
    );
  }

  getNode(name: string): PacsNodeSetting | undefined {
    return this.#run('read', () => {
      const row = this.#db
        .prepare<[string], NodeRow>('SELECT name, settings FROM ae_pacs_nodes WHERE name = ?')
        .get(name);
      return row ? (JSON.parse(row.settings) as PacsNodeSetting) : undefined;
    });
  }

  createNode(node: PacsNodeSetting, actor: string): void {
    this.#run('create node', () =>
      this.#db
        .transaction(() => {
          if (this.getNode(node.name))
            throw new AeConfigError(
              'conflict',
              `name: a PACS node named ${JSON.stringify(node.name)} exists already`,
              'name',
            );
          this.#insertNode(node, this.#now().toISOString());
          this.#audit(actor, 'create', 'pacs-node', node.name, undefined, node);
        })
        .immediate(),
    );
    this.#log.info({ actor, node: node.name }, 'PACS node created');
  }

  /** Replace a node's settings; returns the settings it had. */
  updateNode(name: string, node: PacsNodeSetting, actor: string): PacsNodeSetting {
    const before = this.#run('update node', () =>
      this.#db
        .transaction(() => {
          const previous = this.getNode(name);
          if (!previous) throw new AeConfigError('not-found', `no PACS node named ${name}`);
          this.#db
            .prepare('UPDATE ae_pacs_nodes SET settings = ?, updated_at = ? WHERE name = ?')
            .run(JSON.stringify(node), this.#now().toISOString(), name);
          this.#audit(actor, 'update', 'pacs-node', name, previous, node);
          return previous;
        })
        .immediate(),
    );
    this.#log.info({ actor, node: name }, 'PACS node updated');
    return before;
  }

  deleteNode(name: string, actor: string): PacsNodeSetting {
    const before = this.#run('delete node', () =>
      this.#db
        .transaction(() => {
          const previous = this.getNode(name);
          if (!previous) throw new AeConfigError('not-found', `no PACS node named ${name}`);
          this.#db.prepare('DELETE FROM ae_pacs_nodes WHERE name = ?').run(name);
          this.#audit(actor, 'delete', 'pacs-node', name, previous, undefined);
          return previous;
        })
        .immediate(),
    );
    this.#log.info({ actor, node: name }, 'PACS node deleted');
    return before;
  }

  listPeers(): PeerRecord[] {
    return this.#run('read', () =>
      this.#db
        .prepare<[], PeerRow>('SELECT id, ae_title, host FROM ae_allowed_peers ORDER BY id')
        .all()
        .map(peerOf),
    );
  }

  getPeer(id: number): PeerRecord | undefined {
    return this.#run('read', () => {
      const row = this.#db
        .prepare<[number], PeerRow>('SELECT id, ae_title, host FROM ae_allowed_peers WHERE id = ?')
        .get(id);
      return row ? peerOf(row) : undefined;
    });
  }

  #assertNoTwin(peer: PeerSetting, exceptId: number | undefined): void {
    const twin = this.#db
      .prepare<[string, string], { id: number }>(
        'SELECT id FROM ae_allowed_peers WHERE ae_title = ? AND host = ?',
      )
      .get(peer.aeTitle, peer.host ?? '');
    if (twin && twin.id !== exceptId)
      throw new AeConfigError(
        'conflict',
        `aeTitle: peer ${peer.aeTitle}${peer.host ? `@${peer.host}` : ''} exists already (id ${twin.id})`,
        'aeTitle',
      );
  }

  createPeer(peer: PeerSetting, actor: string): PeerRecord {
    const created = this.#run('create peer', () =>
      this.#db
        .transaction(() => {
          this.#assertNoTwin(peer, undefined);
          const id = this.#insertPeer(peer.aeTitle, peer.host ?? '', this.#now().toISOString());
          const record = this.getPeer(id)!;
          this.#audit(actor, 'create', 'allowed-peer', String(id), undefined, record);
          return record;
        })
        .immediate(),
    );
    this.#log.info({ actor, peer: created }, 'allowed peer created');
    return created;
  }

  /** Change a peer; returns it before and after. */
  updatePeer(
    id: number,
    peer: PeerSetting,
    actor: string,
  ): { before: PeerRecord; after: PeerRecord } {
    const change = this.#run('update peer', () =>
      this.#db
        .transaction(() => {
          const before = this.getPeer(id);
          if (!before) throw new AeConfigError('not-found', `no allowed peer with id ${id}`);
          this.#assertNoTwin(peer, id);
          this.#db
            .prepare(
              'UPDATE ae_allowed_peers SET ae_title = ?, host = ?, updated_at = ? WHERE id = ?',
            )
            .run(peer.aeTitle, peer.host ?? '', this.#now().toISOString(), id);
          const after = this.getPeer(id)!;
          this.#audit(actor, 'update', 'allowed-peer', String(id), before, after);
          return { before, after };
        })
        .immediate(),
    );
    this.#log.info({ actor, peer: change.after }, 'allowed peer updated');
    return change;
  }

  deletePeer(id: number, actor: string): PeerRecord {
    const before = this.#run('delete peer', () =>
      this.#db
        .transaction(() => {
          const previous = this.getPeer(id);
          if (!previous) throw new AeConfigError('not-found', `no allowed peer with id ${id}`);
          this.#db.prepare('DELETE FROM ae_allowed_peers WHERE id = ?').run(id);
          this.#audit(actor, 'delete', 'allowed-peer', String(id), previous, undefined);
          return previous;
        })
        .immediate(),
    );
    this.#log.info({ actor, peer: before }, 'allowed peer deleted');
    return before;
  }

  /** Record an operator action done elsewhere (a dead letter re-sent, a refused log-in). */
  record(
    actor: string,
    action: AuditAction,
    entity: AuditEntity,
    key: string,
    after: unknown,
  ): void {
    this.#run('audit', () => this.#audit(actor, action, entity, key, undefined, after));
  }

  /** The latest audit entries, newest first. */
  listAudit(limit = 100): AuditEntry[] {
    return this.#run('read', () =>
      this.#db
        .prepare<[number], AuditRow>('SELECT * FROM admin_audit ORDER BY id DESC LIMIT ?')
        .all(limit)
        .map((row) => ({
          id: row.id,
          at: row.at,
          actor: row.actor,
          action: row.action as AuditAction,
          entity: row.entity as AuditEntity,
          entityKey: row.entity_key,
          before: row.before_json === null ? undefined : (JSON.parse(row.before_json) as unknown),
          after: row.after_json === null ? undefined : (JSON.parse(row.after_json) as unknown),
        })),
    );
  }

  /** Throws when the index cannot answer (readiness). */
  ping(): void {
    this.#run('ping', () => this.#db.prepare('SELECT 1').get());
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
