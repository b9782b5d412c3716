// The store-engines bench's kill check: a child writes batches and reports each commit, is SIGKILLed, and the
// reopened store must hold every reported row. The child is bench/store-engines.js --child-writer.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from './data';
import { LmdbStore, openStore, SqliteStore, type EngineName } from './engines';

/** The bench's entry script: it becomes the child writer with --child-writer. */
const STORE_ENGINES_SCRIPT = join(__dirname, '..', 'store-engines.js');

// Child: write batches of 16 forever, report each committed batch to the parent.
export function childWriter(engine: EngineName, dir: string): void {
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

export interface KillResult {
  engine: EngineName;
  reported: number;
  found: number;
  ok: boolean;
  note: string;
}

export async function killCheck(engine: EngineName): Promise<KillResult> {
  const dir = mkdtempSync(join(tmpdir(), `store-engines-kill-${engine}-`));
  try {
    const child = fork(STORE_ENGINES_SCRIPT, ['--child-writer', engine, dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
