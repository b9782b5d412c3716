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
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { path, intervalMs, restartBytes } = workerData as { path: string; intervalMs: number; restartBytes: number };
const db = new Database(path);
db.pragma('busy_timeout = 1000');
const walPath = `${path}-wal`;
let stopped = false;
const timer = setInterval(() => {
  if (stopped) return;
  try {
    // PASSIVE copies what it can without blocking anyone. Under a steady stream of commits it is
    // never "complete" at the moment the writer starts a transaction, so the writer never rewinds
    // the WAL and the file grows (~35 MB/s at 2k msg/s). Past restartBytes, RESTART: it waits
    // for the writer's current commit, copies the few frames PASSIVE left, and makes the next
    // commit write from the start of the WAL again. The file is not truncated (no blocking
    // ftruncate); the writer waits only for this short catch-up.
    db.pragma('wal_checkpoint(PASSIVE)');
    if (walBytes() > restartBytes) db.pragma('wal_checkpoint(RESTART)');
  } catch (err) {
    parentPort?.postMessage({ error: (err as Error).message });
  }
}, intervalMs);

function walBytes(): number {
  try {
    return statSync(walPath).size;
  } catch {
    return 0;
  }
}
parentPort?.on('message', (msg: string) => {
  if (msg !== 'stop') return;
  stopped = true;
  clearInterval(timer);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    // the main connection may still be writing; the next start checkpoints
  }
  db.close();
  parentPort?.postMessage({ stopped: true });
});
