// Runs SQLite WAL checkpoints on a worker thread.
//
// A checkpoint copies WAL pages into the database file and fsyncs both: on
// this hardware that blocks for tens of milliseconds (measured up to 65 ms per
// commit that triggered one). better-sqlite3 is synchronous, so if the chat
// service's own connection checkpointed (SQLite's default, every 1000 pages),
// every message in flight would wait for the disk. Here the main connection has
// wal_autocheckpoint=0 and this thread checkpoints PASSIVE-ly (never blocking
// the writer) on its own connection to the same file.
import Database from 'better-sqlite3';
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { path, intervalMs, restartBytes } = workerData as { path: string; intervalMs: number; restartBytes: number };
const db = new Database(path);
db.pragma('busy_timeout = 1000');
/** A WAL frame: a 24-byte header and one page. */
const frameBytes = 24 + (db.pragma('page_size', { simple: true }) as number);
/** The database file, for flushing it ahead of a RESTART. */
const dbFd = openSync(path, 'r');
let stopped = false;
let restartedAtLog = -1;
const timer = setInterval(() => {
  if (stopped) return;
  try {
    // PASSIVE copies what it can without blocking anyone. Under a steady stream of commits it is
    // never "complete" at the moment the writer starts a transaction, so the writer never rewinds
    // the WAL and it grows (~35 MB/s at 2k msg/s). Once the WAL holds more than restartBytes,
    // RESTART: it waits for the writer's current commit, copies the few frames PASSIVE left
    // (a few ms) and makes the next commit write from the start of the WAL again. The file
    // is never truncated (no blocking ftruncate), so `log` (frames in use), not its size, counts.
    const [{ log }] = db.pragma('wal_checkpoint(PASSIVE)') as [{ log: number }];
    // After a RESTART the WAL is rewound by the writer's next commit; until then `log` stays put
    // (an idle store), and another RESTART would only repeat the same work.
    if (log * frameBytes > restartBytes && log !== restartedAtLog) {
      restartedAtLog = log;
      // RESTART fsyncs the database file while it holds the writer out. Flush what PASSIVE just
      // copied first, from this thread, so that fsync finds little to write: the writer's pause
      // went from 6-21 ms to ~1 ms at 1k msg/s (measured 2026-11-28).
      fdatasyncSync(dbFd);
      db.pragma('wal_checkpoint(PASSIVE)');
      db.pragma('wal_checkpoint(RESTART)');
    }
  } catch (err) {
    parentPort?.postMessage({ error: (err as Error).message });
  }
}, intervalMs);


// The store's close() posts 'stop' and waits for the answer (then terminates the thread): stop
// checkpointing, close the database connection and the flushed file's descriptor (a terminated
// thread does not close descriptors it opened), say so.
parentPort?.on('message', (message) => {
  if (message !== 'stop' || stopped) return;
  stopped = true;
  clearInterval(timer);
  closeSync(dbFd);
  db.close();
  parentPort?.postMessage({ stopped: true });
});
