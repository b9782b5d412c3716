// Opens the blob store the settings name (WA_BLOB_STORE): the embedded files or an S3-API bucket.
import type { BlobSettings } from '../common/config-media';
import type { BlobStore } from './blob-store';
import { FsBlobStore } from './fs-blob-store';
import { S3BlobStore } from './s3-blob-store';

export function openBlobStore(s: BlobSettings): Promise<BlobStore> {
  return s.kind === 's3' ? S3BlobStore.open(s.s3) : FsBlobStore.open(s.dir);
}
