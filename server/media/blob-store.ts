// The blob store interface: content-addressed ciphertext, named by the hex
// SHA-256 of its bytes (docs/design/022-media.md). Two engines implement it:
// fs-blob-store.ts (files under the data dir, the embedded default) and
// s3-blob-store.ts (any S3-API server). test/blob-store.test.ts runs one
// conformance suite against both.
//
// The contract every engine keeps:
// - put verifies the bytes' hash against the name before anything is visible,
//   and resolves only once the blob is durable (fsync, or the S3 server's 200);
//   a wrong hash rejects with BlobHashMismatch and stores nothing;
// - put of a hash already stored is a no-op that reports created: false (dedupe:
//   a forwarded file is uploaded once);
// - a reader never sees a partial blob;
// - get of a range past the end rejects with BlobRangeError.
import type { RefStore } from './refs';

/** A blob's name: 64 lowercase hex characters (SHA-256). */
export const BLOB_HASH_RE = /^[0-9a-f]{64}$/;

export interface BlobInfo {
  hash: string;
  size: number;
  /** When the blob was stored (file mtime / S3 LastModified), ms since the epoch. */
  storedAtMs: number;
}

/** Where put reads the bytes from: a buffer, or a staged file (an upload's chunks) that put consumes. */
export type BlobSource = { bytes: Buffer } | { file: string };

export interface PutResult {
  /** false: the blob was already there (nothing written). */
  created: boolean;
  size: number;
}

export interface BlobStore {
  readonly kind: 'embedded' | 's3';
  /** Stores the bytes under their hash once verified; see the contract above. A staged file is removed either way. */
  put(hash: string, source: BlobSource): Promise<PutResult>;
  /** Bytes [start, endInclusive] of a blob, or null when it is not stored. */
  get(hash: string, start: number, endInclusive: number): Promise<Buffer | null>;
  stat(hash: string): Promise<BlobInfo | null>;
  /** true when something was removed. */
  delete(hash: string): Promise<boolean>;
  /** Up to `limit` blobs with hashes above `after` (''), in hash order: the collector pages through this. */
  list(after: string, limit: number): Promise<BlobInfo[]>;
  /** The references to blobs (refs.ts), kept by the same engine. */
  readonly refs: RefStore;
  close(): Promise<void>;
}

export class BlobHashMismatch extends Error {
  constructor(readonly expected: string, readonly actual: string) {
    super(`content hash ${actual} does not match the declared ${expected}`);
    this.name = 'BlobHashMismatch';
  }
}

export class BlobRangeError extends Error {
  constructor(readonly size: number, start: number, endInclusive: number) {
    super(`range ${start}-${endInclusive} is outside a blob of ${size} bytes`);
    this.name = 'BlobRangeError';
  }
}

export function assertBlobHash(hash: string): void {
  if (!BLOB_HASH_RE.test(hash)) throw new Error(`not a blob hash: ${JSON.stringify(hash).slice(0, 80)}`);
}

/** Checks a range against a blob's size; an empty blob has no byte to ask for. */
export function checkRange(size: number, start: number, endInclusive: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endInclusive) || start < 0 || endInclusive < start || endInclusive >= size) {
    throw new BlobRangeError(size, start, endInclusive);
  }
}
