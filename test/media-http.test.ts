// Media over HTTP through the real system (gateway processes + chat service on
// loopback), on the embedded blob store and on the S3-API one (S3Proxy started
// through scripts/s3proxy.sh): the cases are in helpers/media-http-cases.ts.
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { startSystem } from '../deploy/local-system';
import { startS3Proxy, type RunningS3Proxy } from '../deploy/services/s3proxy';
import type { BlobStore } from '../server/media/blob-store';
import { FsBlobStore } from '../server/media/fs-blob-store';
import { S3BlobStore } from '../server/media/s3-blob-store';
import { defineMediaHttpCases, MEDIA_TEST_ENV, type MediaWorld } from './helpers/media-http-cases';

describe('media over HTTP, embedded blob store', () => {
  let world: MediaWorld;
  before(async () => {
    const sys = await startSystem({ gateways: 2, env: { ...MEDIA_TEST_ENV, WA_BLOB_STORE: 'embedded' } });
    world = { sys, store: await FsBlobStore.open(join(sys.opts.dataDir, 'blobs')) };
  });
  after(async () => {
    await world?.sys.stop();
  });
  defineMediaHttpCases(() => world);
});

describe('media over HTTP, S3-API blob store (S3Proxy)', () => {
  let world: MediaWorld;
  let s3: RunningS3Proxy;
  let store: BlobStore;
  before(async () => {
    s3 = startS3Proxy('wa-media-http');
    const e = s3.settings;
    const sys = await startSystem({
      gateways: 2,
      env: {
        ...MEDIA_TEST_ENV, WA_BLOB_STORE: 's3', WA_BLOB_S3_ENDPOINT: e.endpoint, WA_BLOB_S3_BUCKET: e.bucket,
        WA_BLOB_S3_ACCESS_KEY: e.accessKeyId, WA_BLOB_S3_SECRET_KEY: e.secretAccessKey,
      },
    });
    store = await S3BlobStore.open(e);
    world = { sys, store };
  });
  after(async () => {
    await world?.sys.stop();
    await store?.close();
    s3?.stop();
  });
  defineMediaHttpCases(() => world);
});
