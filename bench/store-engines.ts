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
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generate, N_CHATS, PAGE } from './store-engines/data';
import { ENGINES, SqliteStore, type EngineName } from './store-engines/engines';
import { childWriter, killCheck, type KillResult } from './store-engines/kill-check';
import { runConfig, type Result } from './store-engines/measure';

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
