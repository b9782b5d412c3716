// The engines the store-engines bench compares, behind one small Store interface (bench/store-engines.ts).
import Database from 'better-sqlite3';
import { open, type RootDatabase, type Database as LmdbDatabase } from 'lmdb';
import { join } from 'node:path';
import type { Row } from './data';

export interface Store {
  /** Writes rows[from, to) in one durable transaction; returns rows inserted (duplicates skipped). */
  writeBatch(rows: Row[], from: number, to: number): number;
  /** Newest `limit` messages of chatId with id < cursor, newest first. */
  page(chatId: string, cursor: number, limit: number): Row[];
  count(): number;
  close(): Promise<void>;
}

export type EngineName = 'sqlite' | 'sqlite-rowid' | 'lmdb' | 'sqlite-full' | 'lmdb-fsync';
export const ENGINES: EngineName[] = ['sqlite', 'sqlite-rowid', 'lmdb', 'sqlite-full', 'lmdb-fsync'];

export function openStore(engine: EngineName, dir: string): Store {
  switch (engine) {
    case 'sqlite': return new SqliteStore(dir, 'NORMAL', false);
    case 'sqlite-rowid': return new SqliteStore(dir, 'NORMAL', true);
    case 'sqlite-full': return new SqliteStore(dir, 'FULL', false);
    case 'lmdb': return new LmdbStore(dir, false);
    case 'lmdb-fsync': return new LmdbStore(dir, true);
  }
}

export interface SqlRow {
  chat_id: string;
  id: number;
  seq: number;
  sender: number;
  client_msg_id: string;
  body: Buffer;
  sent_at: number;
}

export class SqliteStore implements Store {
  private db: Database.Database;
  private insert: Database.Statement;
  private pageStmt: Database.Statement<[string, number, number], SqlRow>;
  private tx: (rows: Row[], from: number, to: number) => number;

  constructor(dir: string, sync: 'NORMAL' | 'FULL', rowid: boolean) {
    this.db = new Database(join(dir, 'messages.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${sync}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS messages (
        chat_id       TEXT    NOT NULL,
        id            INTEGER NOT NULL,
        seq           INTEGER NOT NULL,
        sender        INTEGER NOT NULL,
        client_msg_id TEXT    NOT NULL,
        body          BLOB    NOT NULL,
        sent_at       INTEGER NOT NULL,
        PRIMARY KEY (chat_id, id)
      )${rowid ? '' : ' WITHOUT ROWID'};
      CREATE UNIQUE INDEX IF NOT EXISTS messages_idem ON messages (sender, client_msg_id);
    `);
    this.insert = this.db.prepare(
      'INSERT INTO messages (chat_id, id, seq, sender, client_msg_id, body, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    this.pageStmt = this.db.prepare<[string, number, number], SqlRow>(
      'SELECT chat_id, id, seq, sender, client_msg_id, body, sent_at FROM messages WHERE chat_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
    );
    const insert = this.insert;
    this.tx = this.db.transaction((rows: Row[], from: number, to: number): number => {
      let n = 0;
      for (let i = from; i < to; i++) {
        const r = rows[i];
        n += insert.run(r.chatId, r.id, r.seq, r.sender, r.clientMsgId, r.body, r.sentAt).changes;
      }
      return n;
    });
  }

  queryPlan(): string {
    return (this.db.prepare('EXPLAIN QUERY PLAN SELECT chat_id, id, seq, sender, client_msg_id, body, sent_at FROM messages WHERE chat_id = ? AND id < ? ORDER BY id DESC LIMIT ?')
      .all('x', 1, 50) as Array<{ detail: string }>).map((r) => r.detail).join('; ');
  }

  writeBatch(rows: Row[], from: number, to: number): number {
    return this.tx(rows, from, to);
  }

  page(chatId: string, cursor: number, limit: number): Row[] {
    const out = this.pageStmt.all(chatId, cursor, limit);
    const rows: Row[] = new Array(out.length);
    for (let i = 0; i < out.length; i++) {
      const r = out[i];
      rows[i] = { chatId: r.chat_id, id: r.id, seq: r.seq, sender: r.sender, clientMsgId: r.client_msg_id, body: r.body, sentAt: r.sent_at };
    }
    return rows;
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
  }

  integrity(): string {
    return String(this.db.pragma('integrity_check', { simple: true }));
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}

export const TWO32 = 4294967296;

export function writeU64(buf: Buffer, v: number, off: number): void {
  buf.writeUInt32BE(Math.floor(v / TWO32), off);
  buf.writeUInt32BE(v >>> 0, off + 4);
}

export function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * TWO32 + buf.readUInt32BE(off + 4);
}

// lmdb-js TransactionFlags (a const enum in its .d.ts is not importable as a value)
export const TXN_ABORTABLE = 1;
export const TXN_SYNCHRONOUS_COMMIT = 2;
export const TXN_NO_SYNC_FLUSH = 0x10000;

export class LmdbStore implements Store {
  private env: RootDatabase;
  private msgs: LmdbDatabase<Buffer, Buffer>;
  private idem: LmdbDatabase<Buffer, Buffer>;
  private flags: number;

  constructor(dir: string, fsyncEachCommit: boolean) {
    this.env = open({ path: dir, maxDbs: 4, overlappingSync: fsyncEachCommit });
    this.msgs = this.env.openDB<Buffer, Buffer>({ name: 'messages', keyEncoding: 'binary', encoding: 'binary' });
    this.idem = this.env.openDB<Buffer, Buffer>({ name: 'idem', keyEncoding: 'binary', encoding: 'binary' });
    this.flags = fsyncEachCommit
      ? TXN_ABORTABLE | TXN_SYNCHRONOUS_COMMIT // lmdb-js default: returns after the flush
      : TXN_ABORTABLE | TXN_SYNCHRONOUS_COMMIT | TXN_NO_SYNC_FLUSH; // MDB_NOSYNC txn: returns once committed, no fsync
  }

  static msgKey(chatId: string, id: number): Buffer {
    const n = Buffer.byteLength(chatId);
    const k = Buffer.allocUnsafe(n + 9);
    k.write(chatId, 0, 'utf8');
    k[n] = 0;
    writeU64(k, id, n + 1);
    return k;
  }

  static idemKey(sender: number, clientMsgId: string): Buffer {
    const k = Buffer.allocUnsafe(8 + Buffer.byteLength(clientMsgId));
    writeU64(k, sender, 0);
    k.write(clientMsgId, 8, 'utf8');
    return k;
  }

  // value: seq u64 | sender u64 | sent_at u64 | cmid length u8 | cmid | body
  static packValue(r: Row): Buffer {
    const cl = Buffer.byteLength(r.clientMsgId);
    const v = Buffer.allocUnsafe(25 + cl + r.body.length);
    writeU64(v, r.seq, 0);
    writeU64(v, r.sender, 8);
    writeU64(v, r.sentAt, 16);
    v[24] = cl;
    v.write(r.clientMsgId, 25, 'utf8');
    r.body.copy(v, 25 + cl);
    return v;
  }

  static unpack(key: Buffer, v: Buffer): Row {
    const cl = v[24];
    return {
      chatId: key.toString('utf8', 0, key.length - 9),
      id: readU64(key, key.length - 8),
      seq: readU64(v, 0),
      sender: readU64(v, 8),
      sentAt: readU64(v, 16),
      clientMsgId: v.toString('utf8', 25, 25 + cl),
      body: v.subarray(25 + cl),
    };
  }

  writeBatch(rows: Row[], from: number, to: number): number {
    const { msgs, idem } = this;
    return this.env.transactionSync(() => {
      let n = 0;
      for (let i = from; i < to; i++) {
        const r = rows[i];
        const ik = LmdbStore.idemKey(r.sender, r.clientMsgId);
        if (idem.getBinaryFast(ik) !== undefined) continue; // duplicate send: idempotent no-op
        const mk = LmdbStore.msgKey(r.chatId, r.id);
        idem.put(ik, mk);
        msgs.put(mk, LmdbStore.packValue(r));
        n++;
      }
      return n;
    }, this.flags);
  }

  page(chatId: string, cursor: number, limit: number): Row[] {
    const start = LmdbStore.msgKey(chatId, cursor); // exclusive: id < cursor
    const end = Buffer.concat([Buffer.from(chatId, 'utf8'), Buffer.from([0])]); // below every key of the chat
    const out: Row[] = [];
    for (const { key, value } of this.msgs.getRange({ start, end, reverse: true, exclusiveStart: true, limit })) {
      out.push(LmdbStore.unpack(key, value));
    }
    return out;
  }

  count(): number {
    return this.msgs.getCount();
  }

  idemCount(): number {
    return this.idem.getCount();
  }

  close(): Promise<void> {
    return this.env.close(); // waits for pending writes/flushes, then closes the env
  }
}
