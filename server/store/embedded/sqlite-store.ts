// The embedded store: SQLite through better-sqlite3, the zero-setup default.
//
// Why SQLite (measured, bench/store-engines.ts; figures in docs/design/002-embedded-store.md):
// batched transactions in WAL mode beat lmdb's synchronous transactions on our
// write pattern on this hardware, and SQL gives history pages, pending-chat
// joins and idempotency lookups without hand-built secondary indexes.
//
// Durability: WAL with synchronous=NORMAL. A transaction is in the WAL (in the
// OS page cache) when commit() returns, so a `kill -9` of the chat service
// loses nothing it acknowledged; only an OS crash or power loss can drop the
// last transactions, which is the same contract as ScyllaDB's default
// commitlog_sync: periodic. Set WA_SQLITE_SYNC=FULL to fsync every commit.
//
// Envelope, per message: one row in `messages` (~150 B with index entries), one
// entry in the (sender, client_msg_id) unique index; per chat per turn one
// UPSERT of the head; per ack one UPDATE of a member row.
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  ChatKind,
  type ChatState,
  type CommitBatch,
  type MemberState,
  type MessageStore,
  type PendingChat,
  type StoredMessage,
  type UserRecord,
} from '../store';
import { PROVISIONED_USER_ID_MIN } from '../../common/ids';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  phone TEXT UNIQUE,
  display_name TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS chats (
  chat_id TEXT PRIMARY KEY,
  kind INTEGER NOT NULL,
  last_id INTEGER NOT NULL DEFAULT 0,
  last_seq INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
  chat_id TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  delivered_id INTEGER NOT NULL DEFAULT 0,
  delivered_seq INTEGER NOT NULL DEFAULT 0,
  read_id INTEGER NOT NULL DEFAULT 0,
  joined_seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (chat_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_user ON members (user_id, chat_id);
CREATE TABLE IF NOT EXISTS messages (
  chat_id TEXT NOT NULL,
  id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  sender INTEGER NOT NULL,
  client_msg_id TEXT NOT NULL,
  body BLOB NOT NULL,
  sent_at_ms INTEGER NOT NULL,
  PRIMARY KEY (chat_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id ON messages (sender, client_msg_id);
`;

interface MessageRow {
  chat_id: string;
  id: number;
  seq: number;
  sender: number;
  client_msg_id: string;
  body: Buffer;
  sent_at_ms: number;
}

export interface SqliteStoreOptions {
  /** File path, or ':memory:' for throwaway stores in tests. */
  path: string;
  /** 'NORMAL' (default) or 'FULL'. */
  synchronous?: 'NORMAL' | 'FULL';
}

export class SqliteStore implements MessageStore {
  readonly engine = 'sqlite';
  private readonly db: Db;
  private readonly s: Record<string, Statement>;
  private readonly commitTx: (batch: CommitBatch) => void;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma('cache_size = -65536'); // 64 MiB page cache
    this.db.exec(SCHEMA);
    const version = this.db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
    if (!version) {
      this.db.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(SCHEMA_VERSION));
    } else if (Number(version.value) !== SCHEMA_VERSION) {
      throw new Error(`store ${options.path}: schema version ${version.value}, this build needs ${SCHEMA_VERSION}`);
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      userByPhone: p(`SELECT id FROM users WHERE phone = ?`),
      maxUser: p(`SELECT COALESCE(MAX(id), 0) AS id FROM users WHERE id < ${PROVISIONED_USER_ID_MIN}`),
      insertUser: p(`INSERT INTO users (id, phone, display_name, created_ms) VALUES (?, ?, ?, ?)`),
      ensureUser: p(`INSERT OR IGNORE INTO users (id, created_ms) VALUES (?, ?)`),
      getUser: p(`SELECT id, COALESCE(phone, '') AS phone, display_name, last_seen_ms FROM users WHERE id = ?`),
      userExists: p(`SELECT 1 AS x FROM users WHERE id = ?`),
      chat: p(`SELECT chat_id, kind, last_id, last_seq FROM chats WHERE chat_id = ?`),
      chatMembers: p(`SELECT user_id, delivered_id, delivered_seq, read_id, joined_seq FROM members WHERE chat_id = ?`),
      insertChat: p(`INSERT OR IGNORE INTO chats (chat_id, kind, last_id, last_seq) VALUES (?, ?, ?, ?)`),
      insertMember: p(
        `INSERT OR IGNORE INTO members (chat_id, user_id, delivered_id, delivered_seq, read_id, joined_seq) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      insertMessage: p(
        `INSERT INTO messages (chat_id, id, seq, sender, client_msg_id, body, sent_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      chatHead: p(`UPDATE chats SET last_id = MAX(last_id, ?), last_seq = MAX(last_seq, ?) WHERE chat_id = ?`),
      watermark: p(
        `UPDATE members SET delivered_id = MAX(delivered_id, ?), delivered_seq = MAX(delivered_seq, ?), read_id = MAX(read_id, ?)
         WHERE chat_id = ? AND user_id = ?`,
      ),
      lastSeen: p(`UPDATE users SET last_seen_ms = ? WHERE id = ?`),
      byClientId: p(`SELECT chat_id, id, seq, sender, client_msg_id, body, sent_at_ms FROM messages WHERE sender = ? AND client_msg_id = ?`),
      historyTop: p(
        `SELECT chat_id, id, seq, sender, client_msg_id, body, sent_at_ms FROM messages WHERE chat_id = ? ORDER BY id DESC LIMIT ?`,
      ),
      historyBefore: p(
        `SELECT chat_id, id, seq, sender, client_msg_id, body, sent_at_ms FROM messages WHERE chat_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
      ),
      after: p(
        `SELECT chat_id, id, seq, sender, client_msg_id, body, sent_at_ms FROM messages WHERE chat_id = ? AND id > ? ORDER BY id ASC LIMIT ?`,
      ),
      headAtOrBelow: p(`SELECT id, seq FROM messages WHERE chat_id = ? AND id <= ? ORDER BY id DESC LIMIT 1`),
      pendingChats: p(
        `SELECT m.chat_id AS chat_id, m.delivered_id AS delivered_id, c.last_seq - m.delivered_seq AS pending
         FROM members m JOIN chats c ON c.chat_id = m.chat_id
         WHERE m.user_id = ? AND c.last_id > m.delivered_id`,
      ),
      maxMessageId: p(`SELECT COALESCE(MAX(last_id), 0) AS id FROM chats`),
    };
    this.commitTx = this.db.transaction((batch: CommitBatch) => this.applyBatch(batch));
  }

  async registerUser(phone: string, displayName: string, nowMs: number): Promise<{ id: number; created: boolean }> {
    const existing = this.s.userByPhone!.get(phone) as { id: number } | undefined;
    if (existing) return { id: existing.id, created: false };
    // Registered users take ids below PROVISIONED_USER_ID_MIN; load-test users live above it.
    const id = (this.s.maxUser!.get() as { id: number }).id + 1;
    this.s.insertUser!.run(id, phone, displayName, nowMs);
    return { id, created: true };
  }

  async provisionUsers(first: number, count: number, nowMs: number): Promise<number> {
    let created = 0;
    this.db.transaction(() => {
      for (let i = 0; i < count; i++) created += this.s.ensureUser!.run(first + i, nowMs).changes;
    })();
    return created;
  }

  async existingUsers(ids: readonly number[]): Promise<Set<number>> {
    const found = new Set<number>();
    for (const id of ids) if (this.s.userExists!.get(id)) found.add(id);
    return found;
  }

  async ensureUser(id: number, nowMs: number): Promise<void> {
    this.s.ensureUser!.run(id, nowMs);
  }

  async getUser(id: number): Promise<UserRecord | null> {
    return (this.s.getUser!.get(id) as UserRecord | undefined) ?? null;
  }

  async loadChat(chatId: string): Promise<ChatState | null> {
    const row = this.s.chat!.get(chatId) as { chat_id: string; kind: ChatKind; last_id: number; last_seq: number } | undefined;
    if (!row) return null;
    const members = new Map<number, MemberState>();
    for (const m of this.s.chatMembers!.all(chatId) as {
      user_id: number; delivered_id: number; delivered_seq: number; read_id: number; joined_seq: number;
    }[]) {
      members.set(m.user_id, {
        user: m.user_id, delivered_id: m.delivered_id, delivered_seq: m.delivered_seq, read_id: m.read_id, joined_seq: m.joined_seq,
      });
    }
    return { chat_id: row.chat_id, kind: row.kind, last_id: row.last_id, last_seq: row.last_seq, members };
  }

  async findByClientId(sender: number, clientMsgIds: readonly string[]): Promise<Map<string, StoredMessage>> {
    const found = new Map<string, StoredMessage>();
    for (const cmid of clientMsgIds) {
      const row = this.s.byClientId!.get(sender, cmid) as MessageRow | undefined;
      if (row) found.set(cmid, row);
    }
    return found;
  }

  async commit(batch: CommitBatch): Promise<void> {
    this.commitTx(batch);
  }

  private applyBatch(batch: CommitBatch): void {
    for (const chat of batch.new_chats) {
      this.s.insertChat!.run(chat.chat_id, chat.kind, 0, 0);
      for (const m of chat.members.values()) {
        this.s.insertMember!.run(chat.chat_id, m.user, m.delivered_id, m.delivered_seq, m.read_id, m.joined_seq);
      }
    }
    const insert = this.s.insertMessage!;
    for (const m of batch.messages) {
      insert.run(m.chat_id, m.id, m.seq, m.sender, m.client_msg_id, m.body, m.sent_at_ms);
    }
    for (const h of batch.chat_heads) this.s.chatHead!.run(h.last_id, h.last_seq, h.chat_id);
    for (const w of batch.watermarks) this.s.watermark!.run(w.delivered_id, w.delivered_seq, w.read_id, w.chat_id, w.user);
    for (const u of batch.last_seen) this.s.lastSeen!.run(u.last_seen_ms, u.user);
  }

  async history(chatId: string, beforeId: number, limit: number): Promise<StoredMessage[]> {
    const rows = beforeId > 0 ? this.s.historyBefore!.all(chatId, beforeId, limit) : this.s.historyTop!.all(chatId, limit);
    return rows as MessageRow[];
  }

  async messagesAfter(chatId: string, afterId: number, limit: number): Promise<StoredMessage[]> {
    return this.s.after!.all(chatId, afterId, limit) as MessageRow[];
  }

  async headAtOrBelow(chatId: string, upToId: number): Promise<{ id: number; seq: number } | null> {
    return (this.s.headAtOrBelow!.get(chatId, upToId) as { id: number; seq: number } | undefined) ?? null;
  }

  async pendingChats(user: number): Promise<PendingChat[]> {
    return this.s.pendingChats!.all(user) as PendingChat[];
  }

  async maxMessageId(): Promise<number> {
    return (this.s.maxMessageId!.get() as { id: number }).id;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
