// The blob store contract (server/media/blob-store.ts), one suite for every
// engine: test/blob-store.test.ts runs it on the embedded files and on S3Proxy.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BlobHashMismatch, BlobRangeError, type BlobStore } from '../../server/media/blob-store';
import { sha256Hex } from '../../server/media/hashing';

export function blob(size: number): { bytes: Buffer; hash: string } {
  const bytes = randomBytes(size);
  return { bytes, hash: sha256Hex(bytes) };
}

function stage(bytes: Buffer): string {
  const file = join(mkdtempSync(join(tmpdir(), 'wa-stage-')), 'upload');
  writeFileSync(file, bytes);
  return file;
}

export function defineBlobConformance(store: () => BlobStore): void {
  test('a put blob reads back whole and by any range', async () => {
    const b = blob(300_001);
    assert.deepEqual(await store().put(b.hash, { bytes: b.bytes }), { created: true, size: b.bytes.length });
    assert.deepEqual(await store().get(b.hash, 0, b.bytes.length - 1), b.bytes);
    assert.deepEqual(await store().get(b.hash, 7, 7), b.bytes.subarray(7, 8));
    assert.deepEqual(await store().get(b.hash, 65_536, 200_000), b.bytes.subarray(65_536, 200_001));
    assert.deepEqual(await store().get(b.hash, b.bytes.length - 1, b.bytes.length - 1), b.bytes.subarray(-1));
    const info = await store().stat(b.hash);
    assert.equal(info?.size, b.bytes.length);
    assert.ok(Math.abs(info!.storedAtMs - Date.now()) < 60_000, `storedAtMs ${info?.storedAtMs} is now`);
  });

  test('a staged upload file is consumed: stored under its hash, the staged file gone', async () => {
    const b = blob(700_000);
    const file = stage(b.bytes);
    assert.deepEqual(await store().put(b.hash, { file }), { created: true, size: b.bytes.length });
    assert.equal(existsSync(file), false);
    assert.deepEqual(await store().get(b.hash, 0, b.bytes.length - 1), b.bytes);
  });

  test('a wrong hash is refused and nothing is stored (buffer and staged file)', async () => {
    const b = blob(10_000);
    const claimed = blob(1).hash;
    await assert.rejects(store().put(claimed, { bytes: b.bytes }), BlobHashMismatch);
    const file = stage(b.bytes);
    await assert.rejects(store().put(claimed, { file }), BlobHashMismatch);
    assert.equal(existsSync(file), false, 'the refused staged file is removed');
    assert.equal(await store().stat(claimed), null);
    assert.equal(await store().stat(b.hash), null);
    assert.equal(await store().get(claimed, 0, 0), null);
  });

  test('the same ciphertext twice is stored once (dedupe): the second put writes nothing', async () => {
    const b = blob(50_000);
    assert.equal((await store().put(b.hash, { bytes: b.bytes })).created, true);
    const first = await store().stat(b.hash);
    assert.deepEqual(await store().put(b.hash, { file: stage(b.bytes) }), { created: false, size: b.bytes.length });
    assert.deepEqual(await store().stat(b.hash), first);
  });

  test('a range past the end, or backwards, is a BlobRangeError; a missing blob is null', async () => {
    const b = blob(1000);
    await store().put(b.hash, { bytes: b.bytes });
    await assert.rejects(store().get(b.hash, 1000, 1000), BlobRangeError);
    await assert.rejects(store().get(b.hash, 10, 1000), BlobRangeError);
    await assert.rejects(store().get(b.hash, 10, 9), BlobRangeError);
    await assert.rejects(store().get(b.hash, -1, 9), BlobRangeError);
    assert.equal(await store().get(blob(5).hash, 0, 0), null);
  });

  test('delete removes a blob once; names that are not SHA-256 hex are refused', async () => {
    const b = blob(2000);
    await store().put(b.hash, { bytes: b.bytes });
    assert.equal(await store().delete(b.hash), true);
    assert.equal(await store().delete(b.hash), false);
    assert.equal(await store().stat(b.hash), null);
    assert.equal(await store().get(b.hash, 0, 0), null);
    await assert.rejects(store().put('../../etc/passwd', { bytes: b.bytes }), /not a blob hash/);
    await assert.rejects(store().get(b.hash.toUpperCase(), 0, 0), /not a blob hash/);
  });

  test('list pages through every blob in hash order', async () => {
    const made = Array.from({ length: 23 }, () => blob(100));
    for (const b of made) await store().put(b.hash, { bytes: b.bytes });
    const seen: string[] = [];
    let after = '';
    for (let page = 0; page < 100; page++) {
      const got = await store().list(after, 7);
      assert.ok(got.length <= 7);
      if (got.length === 0) break;
      seen.push(...got.map((g) => g.hash));
      after = got[got.length - 1]!.hash;
    }
    assert.deepEqual(seen, [...seen].sort(), 'hash order');
    assert.equal(new Set(seen).size, seen.length, 'no blob twice');
    for (const b of made) assert.ok(seen.includes(b.hash), `${b.hash} listed`);
  });
}
