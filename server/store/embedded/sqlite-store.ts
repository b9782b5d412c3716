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
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  ChatKind,
  type ChatState,
  type CommitBatch,
  type MemberState,
  type MessageStore,
  type PendingChat,
  type StoredMessage,
  type UserRecord,
  type SharedChats,
  type ClientKey,
  clientKey,
  FencedError,
  type PartitionFence,
} from '../store';
import { PROVISIONED_USER_ID_MIN } from '../../common/ids';
import { EMBEDDED_STORE_LIMITS } from '../../common/config';
import { SqliteKeys } from './sqlite-keys';

const SCHEMA_VERSION = 5;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  phone TEXT UNIQUE,
  display_name TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL DEFAULT 0,
  last_seen_privacy INTEGER NOT NULL DEFAULT 0
);
-- chats.num is an internal integer key: messages and members refer to it, so
-- their index entries are 8-byte integers instead of ~25-byte chat id strings
-- (measured: +65% insert rate, bench/store-engines.ts).
-- A chat's head (last id, seq) is not stored here: it is its newest message,
-- one index seek away, so a message costs no UPDATE of the chat row.
CREATE TABLE IF NOT EXISTS chats (
  num INTEGER PRIMARY KEY,
  chat_id TEXT NOT NULL UNIQUE,
  kind INTEGER NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  created_by INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS members (
  chat_num INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  delivered_id INTEGER NOT NULL DEFAULT 0,
  delivered_seq INTEGER NOT NULL DEFAULT 0,
  read_id INTEGER NOT NULL DEFAULT 0,
  joined_seq INTEGER NOT NULL DEFAULT 0,
  admin INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (chat_num, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_user ON members (user_id, chat_num);
-- The rowid IS the time-ordered message id: inserts append at the right edge
-- of the table's B-tree instead of splitting pages in the middle.
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY,
  chat_num INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  sender INTEGER NOT NULL,
  client_msg_id TEXT NOT NULL,
  body BLOB NOT NULL,
  sent_at_ms INTEGER NOT NULL,
  kind INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_by_chat ON messages (chat_num, id);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id ON messages (sender, client_msg_id);
-- Fencing tokens of partition owners (server/cluster/): a commit under a lower token is refused.
CREATE TABLE IF NOT EXISTS partition_fences (partition INTEGER PRIMARY KEY, token INTEGER NOT NULL);
`;

/** The message columns every read of StoredMessage rows selects (messages m joined with chats c). */
const MESSAGE_COLS = `c.chat_id AS chat_id, m.id AS id, m.seq AS seq, m.sender AS sender, m.client_msg_id AS client_msg_id,
      m.body AS body, m.sent_at_ms AS sent_at_ms, m.kind AS kind`;

interface MessageRow {
  chat_id: string;
  id: number;
  seq: number;
  sender: number;
  client_msg_id: string;
  body: Buffer;
  sent_at_ms: number;
  kind: number;
}

export interface SqliteStoreOptions {
  /** File path, or ':memory:' for throwaway stores in tests. */
  path: string;
  /** 'NORMAL' (default) or 'FULL'. */
  synchronous?: 'NORMAL' | 'FULL';
  /** WAL content past which the checkpoint thread rewinds the WAL (default 64 MiB; tests use less). */
  walRestartBytes?: number;
}

export class SqliteStore implements MessageStore {
  readonly engine = 'sqlite';
  readonly keys: SqliteKeys;
  private readonly db: Db;
  private readonly s: Record<string, Statement>;
  private readonly commitTx: (batch: CommitBatch) => void;
  private readonly claimTx: (partitions: readonly number[], token: number) => number[];
  private readonly nums = new Map<string, number>();
  private readonly clientIdQueries = new Map<number, Statement>();
  private checkpointer: Worker | null = null;
  private walPath: string | null = null;
  private commitsSinceWalCheck = 0;

  constructor(options: SqliteStoreOptions) {
    this.db = openDatabase(options);
    this.s = prepareStatements(this.db);
    this.keys = new SqliteKeys(this.db);
    const tx = this.db.transaction((batch: CommitBatch) => {
      if (batch.fences && batch.fences.length > 0) this.checkFences(batch.fences);
      this.applyBatch(batch);
    });
    // IMMEDIATE: take the write lock at BEGIN, so chat processes sharing one file
    // (the multi-node light mode) queue on busy_timeout instead of failing to upgrade.
    this.commitTx = (batch) => tx.immediate(batch);
    const claim = this.db.transaction((partitions: readonly number[], token: number) => {
      const claimed: number[] = [];
      for (const p of partitions) {
        const row = this.s.fenceOf!.get(p) as { token: number } | undefined;
        if (row && row.token > token) continue;
        this.s.fenceSet!.run(p, token);
        claimed.push(p);
      }
      return claimed;
    });
    this.claimTx = (partitions, token) => claim.immediate(partitions, token);
    if (options.path !== ':memory:') {
      this.checkpointer = startCheckpointer(this.db, options);
      this.walPath = `${options.path}-wal`;
    }
  }

  /**
   * Safety net for the checkpoint thread: if the WAL still grows past
   * wal_bytes_max (thread dead or starved), checkpoint here, blocking.
   */
  private guardWal(): void {
    if (!this.walPath || ++this.commitsSinceWalCheck < EMBEDDED_STORE_LIMITS.wal_check_every_commits) return;
    this.commitsSinceWalCheck = 0;
    try {
      if (statSync(this.walPath).size > EMBEDDED_STORE_LIMITS.wal_bytes_max) this.db.pragma('wal_checkpoint(TRUNCATE)'); // shrinks the file too
    } catch {
      // no WAL file yet
    }
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

  async setLastSeenPrivacy(user: number, value: number): Promise<void> {
    this.s.setPrivacy!.run(value, user);
  }

  async sharedChatKinds(a: number, b: number): Promise<SharedChats> {
    const kinds = (this.s.sharedChatKinds!.all(b, a) as { kind: number }[]).map((r) => r.kind);
    return { direct: kinds.includes(ChatKind.Direct), group: kinds.includes(ChatKind.Group) };
  }

  async getUser(id: number): Promise<UserRecord | null> {
    return (this.s.getUser!.get(id) as UserRecord | undefined) ?? null;
  }

  // No `fence` work here: the fence check and a commit's writes are one IMMEDIATE transaction, so a former
  // owner's late commit is refused whole (store.ts: loadChat).
  async loadChat(chatId: string): Promise<ChatState | null> {
    const row = this.s.chat!.get(chatId) as { num: number; chat_id: string; kind: ChatKind; name: string; created_by: number } | undefined;
    if (!row) return null;
    this.rememberNum(chatId, row.num);
    const head = (this.s.head!.get(row.num) as { id: number; seq: number } | undefined) ?? { id: 0, seq: 0 };
    const members = new Map<number, MemberState>();
    for (const m of this.s.chatMembers!.all(row.num) as {
      user_id: number; delivered_id: number; delivered_seq: number; read_id: number; joined_seq: number; admin: number;
    }[]) {
      members.set(m.user_id, {
        user: m.user_id, delivered_id: m.delivered_id, delivered_seq: m.delivered_seq, read_id: m.read_id, joined_seq: m.joined_seq,
        admin: m.admin === 1,
      });
    }
    return {
      chat_id: row.chat_id, kind: row.kind, last_id: head.id, last_seq: head.seq, members, name: row.name, created_by: row.created_by,
    };
  }

  async findByClientIds(keys: readonly ClientKey[]): Promise<Map<string, StoredMessage>> {
    // One statement per client_ids_per_query pairs: the binding's per-call
    // overhead, not SQLite's index seek, dominates a lookup per message.
    const found = new Map<string, StoredMessage>();
    const perQuery = EMBEDDED_STORE_LIMITS.client_ids_per_query;
    for (let i = 0; i < keys.length; i += perQuery) {
      const chunk = keys.slice(i, i + perQuery);
      const args: (number | string)[] = [];
      for (const k of chunk) args.push(k.sender, k.client_msg_id);
      for (const row of this.clientIdQuery(chunk.length).all(args) as MessageRow[]) {
        found.set(clientKey(row.sender, row.client_msg_id), row);
      }
    }
    return found;
  }

  private clientIdQuery(pairs: number): Statement {
    let stmt = this.clientIdQueries.get(pairs);
    if (!stmt) {
      const values = Array.from({ length: pairs }, () => '(?, ?)').join(', ');
      stmt = this.db.prepare(
        `SELECT ${MESSAGE_COLS} FROM messages m JOIN chats c ON c.num = m.chat_num WHERE (m.sender, m.client_msg_id) IN (VALUES ${values})`,
      );
      this.clientIdQueries.set(pairs, stmt);
    }
    return stmt;
  }

  async commit(batch: CommitBatch): Promise<void> {
    this.commitTx(batch);
    this.guardWal();
  }

  private applyBatch(batch: CommitBatch): void {
    for (const chat of batch.new_chats) {
      this.s.insertChat!.run(chat.chat_id, chat.kind, chat.name, chat.created_by);
      const num = this.num(chat.chat_id)!;
      for (const m of chat.members.values()) {
        this.s.insertMember!.run(num, m.user, m.delivered_id, m.delivered_seq, m.read_id, m.joined_seq, m.admin ? 1 : 0);
      }
    }
    for (const change of batch.member_changes) {
      const num = this.requireNum(change.chat_id);
      if ('remove' in change) {
        this.s.deleteMember!.run(num, change.remove);
      } else {
        const m = change.member;
        this.s.upsertMember!.run(num, m.user, m.delivered_id, m.delivered_seq, m.read_id, m.joined_seq, m.admin ? 1 : 0);
      }
    }
    for (const { chat_id, name } of batch.chat_renames) this.s.renameChat!.run(name, this.requireNum(chat_id));
    const insert = this.s.insertMessage!;
    let lastChat = '';
    let lastNum = 0;
    for (const m of batch.messages) {
      if (m.chat_id !== lastChat) {
        lastChat = m.chat_id;
        lastNum = this.requireNum(m.chat_id);
      }
      insert.run(m.id, lastNum, m.seq, m.sender, m.client_msg_id, m.body, m.sent_at_ms, m.kind);
    }
    for (const w of batch.watermarks) {
      this.s.watermark!.run(w.delivered_id, w.delivered_seq, w.read_id, this.requireNum(w.chat_id), w.user);
    }
    for (const u of batch.last_seen) this.s.lastSeen!.run(u.last_seen_ms, u.user);
  }

  /** The chat's integer key, from a bounded cache or the chats table. */
  private num(chatId: string): number | undefined {
    const hit = this.nums.get(chatId);
    if (hit !== undefined) return hit;
    const row = this.s.chatNum!.get(chatId) as { num: number } | undefined;
    if (row) this.rememberNum(chatId, row.num);
    return row?.num;
  }

  private requireNum(chatId: string): number {
    const num = this.num(chatId);
    if (num === undefined) throw new Error(`store: chat ${chatId} does not exist`);
    return num;
  }

  private rememberNum(chatId: string, num: number): void {
    if (this.nums.size >= EMBEDDED_STORE_LIMITS.chat_nums_cached_max) this.nums.clear();
    this.nums.set(chatId, num);
  }

  async history(chatId: string, beforeId: number, limit: number): Promise<StoredMessage[]> {
    const num = this.num(chatId);
    if (num === undefined) return [];
    const rows = beforeId > 0 ? this.s.historyBefore!.all(num, beforeId, limit) : this.s.historyTop!.all(num, limit);
    return rows as MessageRow[];
  }

  async messagesAfter(chatId: string, afterId: number, limit: number): Promise<StoredMessage[]> {
    const num = this.num(chatId);
    if (num === undefined) return [];
    return this.s.after!.all(num, afterId, limit) as MessageRow[];
  }

  async headAtOrBelow(chatId: string, upToId: number): Promise<{ id: number; seq: number } | null> {
    const num = this.num(chatId);
    if (num === undefined) return null;
    return (this.s.headAtOrBelow!.get(num, upToId) as { id: number; seq: number } | undefined) ?? null;
  }

  async pendingChats(user: number): Promise<PendingChat[]> {
    return this.s.pendingChats!.all(user) as PendingChat[];
  }

  /** Inside the commit's transaction: the check and the writes see the same fences. */
  private checkFences(fences: readonly PartitionFence[]): void {
    for (const f of fences) {
      const row = this.s.fenceOf!.get(f.partition) as { token: number } | undefined;
      if (row && row.token > f.token) throw new FencedError(f.partition, f.token, row.token);
    }
  }

  async claimPartitions(partitions: readonly number[], token: number): Promise<number[]> {
    return this.claimTx(partitions, token);
  }

  async maxMessageId(): Promise<number> {
    return (this.s.maxMessageId!.get() as { id: number }).id;
  }

  async close(): Promise<void> {
    const worker = this.checkpointer;
    this.checkpointer = null;
    if (worker) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        worker.once('message', () => {
          clearTimeout(timer);
          resolve();
        });
        worker.postMessage('stop');
      });
      await worker.terminate();
    }
    if (this.db.open) this.db.close();
  }
}

/** Open (or create) the database file: pragmas, schema, and this build's schema version check. */
function openDatabase(options: SqliteStoreOptions): Db {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  // Several chat processes may share the file (the multi-node light mode): wait for its locks, set first
  // so that switching to WAL and creating the schema wait too when another node opens the file at once.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -65536'); // 64 MiB page cache
  // The writer never truncates the WAL: truncating a big WAL (its pages still being written
  // back) blocked this thread for ~300 ms at 2k msg/s (measured: one commit, one stall per
  // run). The checkpoint thread keeps the WAL bounded instead (checkpoint-worker.ts).
  db.pragma('journal_size_limit = -1');
  db.exec(SCHEMA);
  const version = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
  if (version && Number(version.value) === SCHEMA_VERSION - 1) {
    // Version 4 -> 5: the last-seen privacy setting (docs/design/015-abuse-and-authorization.md).
    db.exec(`ALTER TABLE users ADD COLUMN last_seen_privacy INTEGER NOT NULL DEFAULT 0`);
    db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(SCHEMA_VERSION));
  } else if (!version) {
    db.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(SCHEMA_VERSION));
  } else if (Number(version.value) !== SCHEMA_VERSION) {
    throw new Error(`store ${options.path}: schema version ${version.value}, this build needs ${SCHEMA_VERSION}`);
  }
  return db;
}

/** The store's statements, prepared once. */
function prepareStatements(db: Db): Record<string, Statement> {
  const p = (sql: string) => db.prepare(sql);
  const cols = MESSAGE_COLS;
  return {
    userByPhone: p(`SELECT id FROM users WHERE phone = ?`),
    maxUser: p(`SELECT COALESCE(MAX(id), 0) AS id FROM users WHERE id < ${PROVISIONED_USER_ID_MIN}`),
    insertUser: p(`INSERT INTO users (id, phone, display_name, created_ms) VALUES (?, ?, ?, ?)`),
    ensureUser: p(`INSERT OR IGNORE INTO users (id, created_ms) VALUES (?, ?)`),
    getUser: p(`SELECT id, COALESCE(phone, '') AS phone, display_name, last_seen_ms, last_seen_privacy FROM users WHERE id = ?`),
    setPrivacy: p(`UPDATE users SET last_seen_privacy = ? WHERE id = ?`),
    sharedChatKinds: p(`SELECT DISTINCT c.kind AS kind FROM members a JOIN members b ON b.chat_num = a.chat_num AND b.user_id = ?
      JOIN chats c ON c.num = a.chat_num WHERE a.user_id = ?`),
    userExists: p(`SELECT 1 AS x FROM users WHERE id = ?`),
    chat: p(`SELECT num, chat_id, kind, name, created_by FROM chats WHERE chat_id = ?`),
    head: p(`SELECT id, seq FROM messages WHERE chat_num = ? ORDER BY id DESC LIMIT 1`),
    chatMembers: p(`SELECT user_id, delivered_id, delivered_seq, read_id, joined_seq, admin FROM members WHERE chat_num = ?`),
    insertChat: p(`INSERT INTO chats (chat_id, kind, name, created_by) VALUES (?, ?, ?, ?) ON CONFLICT (chat_id) DO NOTHING`),
    insertMember: p(
      `INSERT OR IGNORE INTO members (chat_num, user_id, delivered_id, delivered_seq, read_id, joined_seq, admin) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    upsertMember: p(
      `INSERT INTO members (chat_num, user_id, delivered_id, delivered_seq, read_id, joined_seq, admin) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (chat_num, user_id) DO UPDATE SET admin = excluded.admin`,
    ),
    deleteMember: p(`DELETE FROM members WHERE chat_num = ? AND user_id = ?`),
    renameChat: p(`UPDATE chats SET name = ? WHERE num = ?`),
    insertMessage: p(
      `INSERT INTO messages (id, chat_num, seq, sender, client_msg_id, body, sent_at_ms, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    watermark: p(
      `UPDATE members SET delivered_id = MAX(delivered_id, ?), delivered_seq = MAX(delivered_seq, ?), read_id = MAX(read_id, ?)
       WHERE chat_num = ? AND user_id = ?`,
    ),
    lastSeen: p(`UPDATE users SET last_seen_ms = ? WHERE id = ?`),
    historyTop: p(`SELECT ${cols} FROM messages m JOIN chats c ON c.num = m.chat_num WHERE m.chat_num = ? ORDER BY m.id DESC LIMIT ?`),
    historyBefore: p(
      `SELECT ${cols} FROM messages m JOIN chats c ON c.num = m.chat_num WHERE m.chat_num = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?`,
    ),
    after: p(
      `SELECT ${cols} FROM messages m JOIN chats c ON c.num = m.chat_num WHERE m.chat_num = ? AND m.id > ? ORDER BY m.id ASC LIMIT ?`,
    ),
    headAtOrBelow: p(`SELECT id, seq FROM messages WHERE chat_num = ? AND id <= ? ORDER BY id DESC LIMIT 1`),
    pendingChats: p(
      `SELECT c.chat_id AS chat_id, m.delivered_id AS delivered_id,
         (SELECT x.seq FROM messages x WHERE x.chat_num = m.chat_num ORDER BY x.id DESC LIMIT 1) - m.delivered_seq AS pending
       FROM members m JOIN chats c ON c.num = m.chat_num
       WHERE m.user_id = ? AND EXISTS (SELECT 1 FROM messages x WHERE x.chat_num = m.chat_num AND x.id > m.delivered_id)`,
    ),
    maxMessageId: p(`SELECT COALESCE(MAX(id), 0) AS id FROM messages`),
    fenceOf: p(`SELECT token FROM partition_fences WHERE partition = ?`),
    fenceSet: p(`INSERT INTO partition_fences (partition, token) VALUES (?, ?) ON CONFLICT (partition) DO UPDATE SET token = excluded.token`),
    chatNum: p(`SELECT num FROM chats WHERE chat_id = ?`),
  };
}

/**
 * Hand WAL checkpoints to a thread of their own (checkpoint-worker.ts): this
 * connection stops checkpointing, so a commit never waits for one.
 */
function startCheckpointer(db: Db, options: SqliteStoreOptions): Worker {
  db.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(join(__dirname, 'checkpoint-worker.js'), {
    workerData: {
      path: options.path,
      intervalMs: EMBEDDED_STORE_LIMITS.checkpoint_interval_ms,
      restartBytes: options.walRestartBytes ?? EMBEDDED_STORE_LIMITS.wal_restart_bytes,
    },
  });
  worker.unref();
  worker.on('error', (err) => console.error(`store: checkpoint worker failed: ${err.message}`));
  return worker;
}
