// bench/store-engines.ts
//
// Which embedded engine should back the chat service's message store?
// better-sqlite3 v12 vs lmdb 3.5, on the service's real access pattern:
//
//   write: batches of N messages (N = 1, 16, 256, 1000), each batch ONE
//          transaction that returns only once it is durable to a process kill;
//          every message is idempotent on (sender, client_msg_id).
//   read:  one page = the newest 50 messages of one chat before a cursor
//          (id < cursor ORDER BY id DESC LIMIT 50), rows fully materialised.
//
//   node dist/bench/store-engines.js [--engines sqlite,sqlite-rowid,lmdb,sqlite-full,lmdb-fsync]
//        [--batches 1,16,256,1000] [--seconds 2] [--max-rows 200000]
//        [--read-seconds 1] [--repeat 1] [--no-kill-check] [--json]
//
// Row: chat_id TEXT (16 chars), id INTEGER (53-bit, increasing, snowflake-like),
//      seq INTEGER (per chat), sender INTEGER, client_msg_id TEXT (20 chars),
//      body BLOB (100 bytes), sent_at INTEGER (ms).
//
// Engines. `sqlite` vs `lmdb` is the like-for-like comparison asked for (both
// durable to a process kill once the transaction call returns, no fsync per
// commit); sqlite-rowid is a schema variant; the -full/-fsync pair is the same
// made durable to power loss (fsync per commit), for context.
//   sqlite       WAL, synchronous=NORMAL. Table WITHOUT ROWID, PRIMARY KEY
//                (chat_id, id) (a chat's messages are clustered), UNIQUE
//                INDEX (sender, client_msg_id); INSERT ... ON CONFLICT DO
//                NOTHING; one db.transaction() per batch. When COMMIT returns
//                the txn is in the WAL file (OS page cache): survives a process
//                kill; a power loss may lose the last txns (WAL is fsynced at
//                checkpoints), never corrupts.
//   sqlite-rowid as sqlite, but a rowid table (PRIMARY KEY (chat_id, id) is a
//                separate index): rows append in id order, pages need rowid
//                lookups.
//   lmdb         one env, two named DBs, binary keys and values:
//                  messages: chat_id bytes + 0x00 + id as 8-byte big-endian
//                            -> packed (seq, sender, sent_at, client_msg_id, body)
//                  idem:     sender as 8-byte BE + client_msg_id -> message key
//                (0x00 separator: chat ids of different lengths never
//                interleave). Per message: idem lookup, then two puts. One
//                env.transactionSync(fn, ABORTABLE|SYNCHRONOUS_COMMIT|
//                NO_SYNC_FLUSH) per batch, env opened with overlappingSync:false.
//                NO_SYNC_FLUSH becomes MDB_NOSYNC on that txn: mdb_txn_commit
//                has written the pages and the meta page to the file (OS page
//                cache) when transactionSync returns, without fsync. Survives a
//                process kill (verified below); on power loss it may lose
//                recent txns and, unlike sqlite, is not guaranteed to stay
//                consistent unless env.sync() is run periodically.
//                (Measured: with the lmdb-js default overlappingSync:true,
//                NO_SYNC_FLUSH does not help, each transactionSync still waits
//                on the previous flush: that is the lmdb-fsync row.)
//   sqlite-full  as sqlite, synchronous=FULL (WAL fsynced at every commit).
//   lmdb-fsync   lmdb-js defaults: overlappingSync:true, transactionSync with
//                default flags (returns after the commit is flushed).
//
// Method: one pre-generated, deterministic data set of --max-rows messages
// over 2000 chats (~100 per chat). For each (engine, N): fresh temp dir under
// os.tmpdir(); a short untimed warm-up, then timed batches of N until
// --seconds or the rows run out; then the rest of the rows are loaded untimed
// (so every read test runs on the same full data set); then page reads for
// --read-seconds (max 20k pages) with cursors that always leave >= 50 older
// messages (full pages). Page contents are checked against the generator.
// Finally a kill check: a child process writes batches and reports each
// committed batch, is SIGKILLed, and the store is reopened and checked to hold
// every reported row.

import Database from 'better-sqlite3';
import { open, type RootDatabase, type Database as LmdbDatabase } from 'lmdb';
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentileOfSorted as pct } from '../lib/stats';

// ---------------------------------------------------------------- data

interface Row {
  chatId: string;
  id: number;
  seq: number;
  sender: number;
  clientMsgId: string;
  body: Buffer;
  sentAt: number;
}

const N_CHATS = 2000;
const PAGE = 50;
const ID_BASE = 1_700_000_000_000 * 1024; // ms timestamp << 10: ~1.74e15 < 2^53

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface DataSet {
  rows: Row[];
  chatIds: string[];
  idsByChat: Map<string, number[]>; // ascending
}

function generate(n: number, seed = 42): DataSet {
  const rnd = mulberry32(seed);
  const chatIds: string[] = [];
  for (let c = 0; c < N_CHATS; c++) chatIds.push('chat:' + String(c * 7919 + 100003).padStart(11, '0')); // 16 chars
  const bodies: Buffer[] = [];
  for (let i = 0; i < 256; i++) {
    const b = Buffer.allocUnsafe(100);
    for (let j = 0; j < 100; j++) b[j] = (rnd() * 256) | 0;
    bodies.push(b);
  }
  const seqs = new Map<string, number>();
  const idsByChat = new Map<string, number[]>();
  for (const c of chatIds) idsByChat.set(c, []);
  const rows: Row[] = new Array(n);
  const t0 = 1_760_000_000_000;
  for (let i = 0; i < n; i++) {
    const chatId = chatIds[(rnd() * N_CHATS) | 0];
    const seq = (seqs.get(chatId) ?? 0) + 1;
    seqs.set(chatId, seq);
    const id = ID_BASE + i * 3 + 1; // increasing, sparse (other shards take the gaps)
    idsByChat.get(chatId)!.push(id);
    const rand12 = ((rnd() * 0x1000000) | 0).toString(16).padStart(6, '0') + ((rnd() * 0x1000000) | 0).toString(16).padStart(6, '0');
    rows[i] = {
      chatId,
      id,
      seq,
      sender: 1 + ((rnd() * 1_000_000) | 0),
      clientMsgId: rand12 + i.toString(36).padStart(8, '0'), // 20 chars, unique
      body: bodies[(rnd() * 256) | 0],
      sentAt: t0 + i,
    };
  }
  return { rows, chatIds, idsByChat };
}

// ---------------------------------------------------------------- engines

interface Store {
  /** Writes rows[from, to) in one durable transaction; returns rows inserted (duplicates skipped). */
  writeBatch(rows: Row[], from: number, to: number): number;
  /** Newest `limit` messages of chatId with id < cursor, newest first. */
  page(chatId: string, cursor: number, limit: number): Row[];
  count(): number;
  close(): Promise<void>;
}

type EngineName = 'sqlite' | 'sqlite-rowid' | 'lmdb' | 'sqlite-full' | 'lmdb-fsync';
const ENGINES: EngineName[] = ['sqlite', 'sqlite-rowid', 'lmdb', 'sqlite-full', 'lmdb-fsync'];

function openStore(engine: EngineName, dir: string): Store {
  switch (engine) {
    case 'sqlite': return new SqliteStore(dir, 'NORMAL', false);
    case 'sqlite-rowid': return new SqliteStore(dir, 'NORMAL', true);
    case 'sqlite-full': return new SqliteStore(dir, 'FULL', false);
    case 'lmdb': return new LmdbStore(dir, false);
    case 'lmdb-fsync': return new LmdbStore(dir, true);
  }
}

interface SqlRow {
  chat_id: string;
  id: number;
  seq: number;
  sender: number;
  client_msg_id: string;
  body: Buffer;
  sent_at: number;
}

class SqliteStore implements Store {
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

const TWO32 = 4294967296;

function writeU64(buf: Buffer, v: number, off: number): void {
  buf.writeUInt32BE(Math.floor(v / TWO32), off);
  buf.writeUInt32BE(v >>> 0, off + 4);
}

function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * TWO32 + buf.readUInt32BE(off + 4);
}

// lmdb-js TransactionFlags (a const enum in its .d.ts is not importable as a value)
const TXN_ABORTABLE = 1;
const TXN_SYNCHRONOUS_COMMIT = 2;
const TXN_NO_SYNC_FLUSH = 0x10000;

class LmdbStore implements Store {
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

// ---------------------------------------------------------------- measurement

interface Result {
  engine: EngineName;
  batch: number;
  timedRows: number;
  writeSeconds: number;
  rowsPerSec: number;
  txnPerSec: number;
  batchP50us: number;
  batchP99us: number;
  pages: number;
  pageMeanUs: number;
  pageP50us: number;
  pageP99us: number;
  rowsPerPage: number;
}

async function runConfig(engine: EngineName, batch: number, data: DataSet, seconds: number, readSeconds: number): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), `store-engines-${engine}-`));
  try {
    const store = openStore(engine, dir);
    const rows = data.rows;
    const total = rows.length;
    let pos = 0;

    // warm-up (untimed): JIT, statement cache, file growth
    const wEnd = performance.now() + 150;
    while (pos + batch <= Math.min(total, 2000) && performance.now() < wEnd) {
      store.writeBatch(rows, pos, pos + batch);
      pos += batch;
    }

    // timed writes
    const lat: number[] = [];
    const start = pos;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1000;
    let now = t0;
    while (pos < total && now < deadline) {
      const to = Math.min(total, pos + batch);
      const inserted = store.writeBatch(rows, pos, to);
      if (inserted !== to - pos) throw new Error(`${engine}: inserted ${inserted} of ${to - pos}`);
      pos = to;
      const t = performance.now();
      lat.push(t - now);
      now = t;
    }
    const writeSeconds = (now - t0) / 1000;
    const timedRows = pos - start;

    // idempotency: replaying a batch inserts nothing
    const replay = store.writeBatch(rows, start, Math.min(start + batch, pos));
    if (replay !== 0) throw new Error(`${engine}: replayed batch inserted ${replay} rows`);

    // top up to the full data set (untimed) so reads always see the same data
    while (pos < total) {
      const to = Math.min(total, pos + 1000);
      store.writeBatch(rows, pos, to);
      pos = to;
    }
    if (store.count() !== total) throw new Error(`${engine}: count ${store.count()} != ${total}`);

    // page reads
    const rnd = mulberry32(7);
    const maxPages = 20_000;
    const pageLat = new Float64Array(maxPages);
    let pages = 0;
    let rowsRead = 0;
    const r0 = performance.now();
    const rDeadline = r0 + readSeconds * 1000;
    let rNow = r0;
    while (pages < maxPages && rNow < rDeadline) {
      const chatId = data.chatIds[(rnd() * N_CHATS) | 0];
      const ids = data.idsByChat.get(chatId)!;
      const j = ids.length <= PAGE ? ids.length : PAGE + ((rnd() * (ids.length - PAGE + 1)) | 0);
      const cursor = j === ids.length ? Number.MAX_SAFE_INTEGER : ids[j];
      const page = store.page(chatId, cursor, PAGE);
      const t = performance.now();
      pageLat[pages++] = t - rNow;
      rNow = t;
      rowsRead += page.length;
      if (pages <= 200) checkPage(engine, data, chatId, j, page);
    }
    const readMs = rNow - r0;
    await store.close();

    const bl = Float64Array.from(lat).sort();
    const pl = pageLat.subarray(0, pages).sort();
    return {
      engine,
      batch,
      timedRows,
      writeSeconds,
      rowsPerSec: timedRows / writeSeconds,
      txnPerSec: lat.length / writeSeconds,
      batchP50us: pct(bl, 50) * 1000,
      batchP99us: pct(bl, 99) * 1000,
      pages,
      pageMeanUs: (readMs * 1000) / pages,
      pageP50us: pct(pl, 50) * 1000,
      pageP99us: pct(pl, 99) * 1000,
      rowsPerPage: rowsRead / pages,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rowById = new Map<number, Row>();

function checkPage(engine: string, data: DataSet, chatId: string, j: number, page: Row[]): void {
  const ids = data.idsByChat.get(chatId)!;
  const expect = ids.slice(Math.max(0, j - PAGE), j).reverse();
  if (page.length !== expect.length) throw new Error(`${engine}: page of ${chatId} has ${page.length} rows, expected ${expect.length}`);
  if (rowById.size === 0) for (const r of data.rows) rowById.set(r.id, r);
  for (let i = 0; i < page.length; i++) {
    const got = page[i];
    const want = rowById.get(expect[i])!;
    if (got.id !== want.id || got.chatId !== want.chatId || got.seq !== want.seq || got.sender !== want.sender ||
        got.clientMsgId !== want.clientMsgId || got.sentAt !== want.sentAt || !want.body.equals(got.body)) {
      throw new Error(`${engine}: page row ${i} of ${chatId} differs: ${JSON.stringify({ ...got, body: undefined })} vs id ${want.id}`);
    }
  }
}

// ---------------------------------------------------------------- kill check

// Child: write batches of 16 forever, report each committed batch to the parent.
function childWriter(engine: EngineName, dir: string): void {
  const data = generate(100_000, 99);
  const store = openStore(engine, dir);
  let pos = 0;
  const step = (): void => {
    for (let k = 0; k < 20 && pos < data.rows.length; k++) {
      store.writeBatch(data.rows, pos, pos + 16);
      pos += 16;
      process.send!(pos); // sent only after writeBatch returned
    }
    setImmediate(step);
  };
  step();
}

interface KillResult {
  engine: EngineName;
  reported: number;
  found: number;
  ok: boolean;
  note: string;
}

async function killCheck(engine: EngineName): Promise<KillResult> {
  const dir = mkdtempSync(join(tmpdir(), `store-engines-kill-${engine}-`));
  try {
    const child = fork(__filename, ['--child-writer', engine, dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let reported = 0;
    child.on('message', (m) => {
      reported = m as number;
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (reported >= 3000) {
          clearInterval(t);
          resolve();
        }
      }, 5);
      child.once('exit', (code) => {
        clearInterval(t);
        reject(new Error(`${engine} child exited early (${code})`));
      });
    });
    // Kill mid-stream; anything the parent heard about was committed before it was reported.
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 50));
    child.kill('SIGKILL');
    await exited;
    const lastReported = reported; // no more messages after exit
    const store = openStore(engine, dir);
    const found = store.count();
    let note = '';
    let ok = found >= lastReported;
    // every reported row is there, row by row (spot-check the last reported batch fully)
    const data = generate(lastReported, 99);
    for (let i = Math.max(0, lastReported - 16); i < lastReported; i++) {
      const r = data.rows[i];
      const page = store.page(r.chatId, r.id + 1, 1);
      if (page.length !== 1 || page[0].id !== r.id) {
        ok = false;
        note = `row ${i} missing`;
      }
    }
    if (store instanceof SqliteStore) note ||= `integrity_check=${store.integrity()}`;
    if (store instanceof LmdbStore) {
      const ic = store.idemCount();
      if (ic !== found) {
        ok = false;
        note = `idem ${ic} != messages ${found}`;
      } else note ||= `idem index consistent (${ic})`;
    }
    await store.close();
    return { engine, reported: lastReported, found, ok, note };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- main

function pkgVersion(name: string): string {
  // lmdb's "exports" hides package.json: walk up from the resolved entry point
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name && pkg.version) return pkg.version;
    } catch { /* keep walking */ }
    const up = dirname(dir);
    if (up === dir) return '?';
    dir = up;
  }
}

function parseList<T>(v: string, f: (s: string) => T): T[] {
  return v.split(',').map((s) => f(s.trim()));
}

function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child-writer') {
    childWriter(argv[1] as EngineName, argv[2]);
    return;
  }
  let engines: EngineName[] = ENGINES;
  let batches = [1, 16, 256, 1000];
  let seconds = 2;
  let maxRows = 200_000;
  let readSeconds = 1;
  let repeat = 1;
  let kill = true;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--engines':
        engines = parseList(argv[++i], (s) => {
          if (!ENGINES.includes(s as EngineName)) throw new Error(`unknown engine ${s} (${ENGINES.join(', ')})`);
          return s as EngineName;
        });
        break;
      case '--batches': batches = parseList(argv[++i], Number); break;
      case '--seconds': seconds = Number(argv[++i]); break;
      case '--max-rows': maxRows = Number(argv[++i]); break;
      case '--read-seconds': readSeconds = Number(argv[++i]); break;
      case '--repeat': repeat = Math.max(1, Number(argv[++i]) | 0); break;
      case '--no-kill-check': kill = false; break;
      case '--json': json = true; break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }

  const data = generate(maxRows);
  {
    const dir = mkdtempSync(join(tmpdir(), 'store-engines-plan-'));
    const s = new SqliteStore(dir, 'NORMAL', false);
    if (!json) console.log(`sqlite page query plan: ${s.queryPlan()}`);
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (!json) {
    console.log(`better-sqlite3 ${pkgVersion('better-sqlite3')} (SQLite ${new Database(':memory:').prepare('select sqlite_version() v').pluck().get()}), lmdb ${pkgVersion('lmdb')}, node ${process.version}, tmpdir ${tmpdir()}`);
    console.log(`${maxRows} rows over ${N_CHATS} chats; writes bounded by ${seconds} s or the rows; reads: ${PAGE}-row pages for ${readSeconds} s (max 20k) on the full ${maxRows} rows\n`);
  }

  // Batch size outer, engine inner, repeated: on a shared/noisy box this
  // spreads disturbances over all engines instead of one. Reported numbers
  // are the per-configuration median over --repeat runs.
  const runs = new Map<string, Result[]>();
  const header = ['engine', 'batch', 'rows/s write', 'txn/s', 'batch p50 µs', 'batch p99 µs', 'rows timed', 'µs/page read', 'page p50 µs', 'page p99 µs'];
  const widths = [12, 6, 13, 9, 13, 13, 11, 13, 12, 12];
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' ');
  const cells = (r: Result): string[] => [r.engine, String(r.batch), fmt(r.rowsPerSec), fmt(r.txnPerSec), fmt(r.batchP50us), fmt(r.batchP99us),
    fmt(r.timedRows), fmt(r.pageMeanUs, 1), fmt(r.pageP50us, 1), fmt(r.pageP99us, 1)];
  if (!json && repeat > 1) console.error(`runs (${repeat} rounds; the table after them is the median):\n${line(header)}`);
  for (let round = 0; round < repeat; round++) {
    for (const batch of batches) {
      for (const engine of engines) {
        const r = await runConfig(engine, batch, data, seconds, readSeconds);
        const key = `${engine}/${batch}`;
        if (!runs.has(key)) runs.set(key, []);
        runs.get(key)!.push(r);
        if (!json && repeat > 1) console.error(line(cells(r)));
      }
    }
  }
  const med = (xs: number[]): number => {
    const a = [...xs].sort((x, y) => x - y);
    return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  };
  const results: Result[] = [];
  for (const engine of engines) {
    for (const batch of batches) {
      const rs = runs.get(`${engine}/${batch}`)!;
      const m = { ...rs[0] };
      for (const k of ['timedRows', 'writeSeconds', 'rowsPerSec', 'txnPerSec', 'batchP50us', 'batchP99us', 'pages', 'pageMeanUs', 'pageP50us', 'pageP99us', 'rowsPerPage'] as const) {
        m[k] = med(rs.map((r) => r[k]));
      }
      results.push(m);
    }
  }
  if (!json) {
    if (repeat > 1) console.log(`\nmedian of ${repeat} runs per configuration:`);
    console.log(line(header));
    for (const r of results) console.log(line(cells(r)));
  }

  const kills: KillResult[] = [];
  if (kill) {
    if (!json) console.log('\nkill check (child writes 16-row batches, reports each after the txn returns, SIGKILL, reopen):');
    for (const engine of engines) {
      const k = await killCheck(engine);
      kills.push(k);
      if (!json) console.log(`  ${engine.padEnd(12)} reported ${k.reported} committed, found ${k.found} after SIGKILL: ${k.ok ? 'OK' : 'LOST DATA'} (${k.note})`);
    }
  }
  if (json) console.log(JSON.stringify({ results, runs: Object.fromEntries(runs), kills }, null, 2));
  if (kills.some((k) => !k.ok)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
