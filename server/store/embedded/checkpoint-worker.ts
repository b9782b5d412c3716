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
import { parentPort, workerData } from 'node:worker_threads';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path);
db.pragma('busy_timeout = 1000');
let stopped = false;
const timer = setInterval(() => {
  if (stopped) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort?.postMessage({ error: (err as Error).message });
  }
}, intervalMs);
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
