// One (engine, batch size) run of the store-engines bench: timed batches, then timed page reads, pages checked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentileOfSorted as pct } from '../../lib/stats';
import { mulberry32, N_CHATS, PAGE, type DataSet, type Row } from './data';
import { openStore, type EngineName } from './engines';

export interface Result {
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

export async function runConfig(engine: EngineName, batch: number, data: DataSet, seconds: number, readSeconds: number): Promise<Result> {
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

export const rowById = new Map<number, Row>();

export function checkPage(engine: string, data: DataSet, chatId: string, j: number, page: Row[]): void {
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
