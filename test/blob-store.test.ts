// The blob stores (server/media/): the conformance suite on the embedded files
// and on a real S3-API server (S3Proxy, filesystem backend, started through
// scripts/s3proxy.sh), plus what only the embedded engine can show: a put a
// crash interrupted is never visible and is swept at the next open. And the
// collector's mark-then-sweep on both engines (helpers/retention-race-cases.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BlobStore } from '../server/media/blob-store';
import { FsBlobStore } from '../server/media/fs-blob-store';
import { S3BlobStore } from '../server/media/s3-blob-store';
import { blob, defineBlobConformance } from './helpers/blob-conformance';
import { defineReshareAfterExpiry, defineRetentionRace } from './helpers/retention-race-cases';
import { startS3Proxy, type RunningS3Proxy } from '../deploy/services/s3proxy';

describe('embedded blob store (files in the data dir)', () => {
  let dir: string;
  let store: FsBlobStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wa-blobs-'));
    store = await FsBlobStore.open(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  defineBlobConformance(() => store);
  defineRetentionRace(() => store);
  defineReshareAfterExpiry(() => store);

  test('a half-written staging file (a crash mid-put) is never visible and is swept at the next open once abandoned', async () => {
    const b = blob(4096);
    const half = join(dir, '.staging', `${b.hash}.deadbeef`);
    writeFileSync(half, b.bytes.subarray(0, 100));
    const old = new Date(Date.now() - 3600_000);
    utimesSync(half, old, old);
    const young = join(dir, '.staging', `${b.hash}.inflight`);
    writeFileSync(young, b.bytes.subarray(0, 10));
    assert.equal(await store.stat(b.hash), null);
    assert.equal((await store.list('', 10_000)).some((i) => i.hash === b.hash), false);
    store = await FsBlobStore.open(dir);
    assert.deepEqual(readdirSync(join(dir, '.staging')), [`${b.hash}.inflight`], 'the abandoned file is swept; a young one (another process\'s put in flight) is left');
  });
});

describe('S3-API blob store (S3Proxy, filesystem backend)', () => {
  let s3: RunningS3Proxy;
  let store: BlobStore;
  before(async () => {
    s3 = startS3Proxy();
    store = await S3BlobStore.open(s3.settings);
  });
  after(async () => {
    await store?.close();
    s3?.stop();
  });
  defineBlobConformance(() => store);
  defineRetentionRace(() => store);
  defineReshareAfterExpiry(() => store);

  test('a wrong secret is refused by the server (the store does not fall back to anonymous)', async () => {
    const bad = await S3BlobStore.open({ ...s3.settings, secretAccessKey: 'x'.repeat(40) }).catch((e: Error) => e);
    assert.ok(bad instanceof Error, 'open with a wrong secret fails');
  });
});

describe('media settings (server/common/config-media.ts)', () => {
  test('WA_BLOB_STORE=s3 without its endpoint or keys, an unknown store, or a malformed limit fail loudly at start', async () => {
    const { blobSettings, loadMediaLimits } = await import('../server/common/config-media');
    assert.throws(() => blobSettings({ WA_BLOB_STORE: 's3' }), /WA_BLOB_S3_ENDPOINT/);
    assert.throws(() => blobSettings({ WA_BLOB_STORE: 'floppy' }), /must be embedded or s3/);
    assert.throws(() => loadMediaLimits({ WA_MEDIA_IMAGE_BYTES_MAX: '16MB' }), /WA_MEDIA_IMAGE_BYTES_MAX=16MB/);
    assert.equal(loadMediaLimits({ WA_MEDIA_IMAGE_BYTES_MAX: '1000' }).media_image_bytes_max, 1000);
    assert.equal(blobSettings({ WA_DATA_DIR: '/x' }).dir, '/x/blobs');
  });
});
