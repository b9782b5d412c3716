// The S3-API blob store: one object per blob, key "blobs/<hash>", in one
// bucket of any S3-API server (tested against S3Proxy, scripts/s3proxy.sh).
// The hash is verified here, before the PutObject, so a wrong upload never
// reaches the bucket; a PutObject is atomic on S3 (readers see the old state or
// the whole object), and its 200 is the server's durability promise. The body
// carries Content-MD5 so bytes damaged on the way are refused by the server.
// Cost per put: one local hash pass, one HEAD (dedupe), one PUT.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import {
  CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand,
  ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { BLOB_STORE_LIMITS, type S3Settings } from '../common/config-media';
import {
  assertBlobHash, BLOB_HASH_RE, BlobHashMismatch, BlobRangeError, checkRange,
  type BlobInfo, type BlobSource, type BlobStore, type PutResult,
} from './blob-store';
import { sha256Hex } from './hashing';
import { S3RefStore } from './s3-refs';

const PREFIX = 'blobs/';

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly refs: S3RefStore;

  private constructor(private readonly client: S3Client, readonly bucket: string) {
    this.refs = new S3RefStore(client, bucket);
  }

  /** Connects and creates the bucket when it is missing. */
  static async open(s: S3Settings): Promise<S3BlobStore> {
    const client = new S3Client({
      endpoint: s.endpoint,
      region: s.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
      // Only the checksums S3 itself requires: S3-API servers other than AWS (S3Proxy among them) do not all
      // understand the SDK's default CRC32 trailers. Integrity is ours: the SHA-256 name and Content-MD5.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { requestTimeout: BLOB_STORE_LIMITS.s3_request_timeout_ms },
    });
    const store = new S3BlobStore(client, s.bucket);
    try {
      await client.send(new HeadBucketCommand({ Bucket: s.bucket }));
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      await client.send(new CreateBucketCommand({ Bucket: s.bucket }));
    }
    return store;
  }

  async put(hash: string, source: BlobSource): Promise<PutResult> {
    assertBlobHash(hash);
    try {
      const { size, md5 } = 'bytes' in source ? verifyBytes(hash, source.bytes) : await verifyFile(hash, source.file);
      const existing = await this.stat(hash);
      if (existing) return { created: false, size: existing.size };
      const body = 'bytes' in source ? source.bytes : createReadStream(source.file);
      await this.client.send(new PutObjectCommand({
        Bucket: this.bucket, Key: PREFIX + hash, Body: body, ContentLength: size, ContentMD5: md5,
        ContentType: 'application/octet-stream',
      }));
      return { created: true, size };
    } finally {
      if ('file' in source) await rm(source.file, { force: true });
    }
  }

  /** One ranged GET; the Content-Range's total tells a range past the end (S3 clips a partial one, 416s the rest). */
  async get(hash: string, start: number, endInclusive: number): Promise<Buffer | null> {
    assertBlobHash(hash);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endInclusive) || start < 0 || endInclusive < start) {
      throw new BlobRangeError(-1, start, endInclusive);
    }
    let out;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: PREFIX + hash, Range: `bytes=${start}-${endInclusive}` }));
    } catch (err) {
      if (statusOf(err) === 404) return null;
      if (statusOf(err) === 416) {
        const info = await this.stat(hash);
        if (!info) return null;
        throw new BlobRangeError(info.size, start, endInclusive);
      }
      throw err;
    }
    const total = Number(/\/(\d+)$/.exec(out.ContentRange ?? '')?.[1] ?? out.ContentLength);
    const bytes = Buffer.from(await out.Body!.transformToByteArray());
    checkRange(total, start, endInclusive);
    if (bytes.length !== endInclusive - start + 1) throw new Error(`S3 returned ${bytes.length} bytes for range ${start}-${endInclusive}`);
    return bytes;
  }

  async stat(hash: string): Promise<BlobInfo | null> {
    assertBlobHash(hash);
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: PREFIX + hash }));
      return { hash, size: h.ContentLength ?? 0, storedAtMs: h.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async delete(hash: string): Promise<boolean> {
    // S3's DELETE answers 204 whether or not the key existed: the HEAD tells which.
    if (!(await this.stat(hash))) return false;
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: PREFIX + hash }));
    return true;
  }

  async list(after: string, limit: number): Promise<BlobInfo[]> {
    const out = await this.client.send(new ListObjectsV2Command({
      Bucket: this.bucket, Prefix: PREFIX, StartAfter: PREFIX + after, MaxKeys: limit,
    }));
    return (out.Contents ?? [])
      .map((o) => ({ hash: (o.Key ?? '').slice(PREFIX.length), size: o.Size ?? 0, storedAtMs: o.LastModified?.getTime() ?? 0 }))
      .filter((b) => BLOB_HASH_RE.test(b.hash));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

function verifyBytes(hash: string, bytes: Buffer): { size: number; md5: string } {
  const actual = sha256Hex(bytes);
  if (actual !== hash) throw new BlobHashMismatch(hash, actual);
  return { size: bytes.length, md5: createHash('md5').update(bytes).digest('base64') };
}

/** One bounded-step pass over a staged file for both digests. */
async function verifyFile(hash: string, file: string): Promise<{ size: number; md5: string }> {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  const fh = await open(file, 'r');
  let size = 0;
  try {
    const buf = Buffer.allocUnsafe(BLOB_STORE_LIMITS.hash_read_bytes);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, size);
      if (bytesRead === 0) break;
      sha.update(buf.subarray(0, bytesRead));
      md5.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  const actual = sha.digest('hex');
  if (actual !== hash) throw new BlobHashMismatch(hash, actual);
  return { size, md5: md5.digest('base64') };
}

function statusOf(err: unknown): number {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode ?? 0;
}
