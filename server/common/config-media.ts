// Media's limits and settings (issue 19, docs/design/022-media.md): the blob
// store's backend, the upload sizes per media type, and retention. Kept apart
// from config.ts (like config-scylla.ts) so media's settings do not crowd the
// messaging limits. Overrides come from the environment: WA_<NAME> for a limit
// (WA_MEDIA_IMAGE_BYTES_MAX=...), and the WA_BLOB_* variables below.
import { join, resolve } from 'node:path';

/** The kinds of media a client may upload; anything else is refused with UNSUPPORTED_MEDIA_TYPE. */
export const MEDIA_KINDS = ['image', 'video', 'audio', 'document'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

export interface MediaLimits {
  /** Largest image (ciphertext): phones send images re-encoded to well under this (WhatsApp resizes to ~1600 px). */
  media_image_bytes_max: number;
  /** Largest video: WhatsApp's 16 MB video limit, plus room for the cipher's padding and MAC. */
  media_video_bytes_max: number;
  /** Largest voice note or audio file: the same 16 MB class as video. */
  media_audio_bytes_max: number;
  /** Largest document: WhatsApp allowed 100 MB for years; bigger files are not a chat's job. */
  media_document_bytes_max: number;
  /** Largest body of one upload chunk request: bounds the gateway's memory per request (a chunk is buffered, hashed, written). */
  media_chunk_bytes_max: number;
  /** A download is read from the blob store and written to the socket this many bytes at a time: bounds a download's memory whatever its range. */
  media_read_step_bytes: number;
  /** Upload sessions open on one gateway at once, all users together: each pins a staged file on disk until it ends or idles out. */
  media_upload_sessions_max: number;
  /** Upload sessions one user may hold open at once: a phone uploads a handful of files in parallel at most. */
  media_user_upload_sessions_max: number;
  /** An upload session idle longer than this is dropped with its staged bytes (a client that went away); resumable until then. */
  media_upload_idle_seconds: number;
  /** The seed's N days: media is kept this long after the last recipient downloaded it (or after it was sent, whichever is later). */
  media_retention_seconds: number;
  /** Undelivered media is kept at most this long anyway (the offline queue's TTL: no recipient can ask for it after). */
  media_undelivered_ttl_seconds: number;
  /** A blob no message references is collected only once older than this: an upload is committed before its message is sent. */
  media_unreferenced_grace_seconds: number;
  /**
   * A blob the collector found unreferenced is only marked condemned; it is deleted on a later run at least this long
   * after the mark, if still unreferenced: a forward that checked the blob before the mark has this long to write its
   * reference (docs/design/022-media.md: one collector interval, so a mark is swept on the next run).
   */
  media_condemned_grace_seconds: number;
  /**
   * A sweep issues a blob's delete within this of reading that it has no reference (or skips it); a forward that
   * clears a condemned mark waits this long before trusting the blob is still there. Milliseconds: it is on a request's path.
   */
  media_sweep_step_ms_max: number;
  /** Blobs looked at per collection page (one list call to the store): bounds the memory and the store work of one step. */
  media_collect_page_max: number;
  /** How often a gateway runs the collector (expired references, then unreferenced blobs); runs on several gateways are idempotent. */
  media_collect_interval_seconds: number;
}

export const DEFAULT_MEDIA_LIMITS: Readonly<MediaLimits> = Object.freeze({
  media_image_bytes_max: 16 * 1024 * 1024,
  media_video_bytes_max: 64 * 1024 * 1024,
  media_audio_bytes_max: 64 * 1024 * 1024,
  media_document_bytes_max: 100 * 1024 * 1024,
  media_chunk_bytes_max: 1024 * 1024,
  media_read_step_bytes: 1024 * 1024,
  media_upload_sessions_max: 4096,
  media_user_upload_sessions_max: 8,
  media_upload_idle_seconds: 3600,
  media_retention_seconds: 30 * 24 * 3600,
  media_undelivered_ttl_seconds: 30 * 24 * 3600,
  media_unreferenced_grace_seconds: 24 * 3600,
  media_condemned_grace_seconds: 3600,
  media_sweep_step_ms_max: 2000,
  media_collect_page_max: 1000,
  media_collect_interval_seconds: 3600,
});

/** Media limits with WA_<NAME> environment overrides applied; a malformed override fails loudly. */
export function loadMediaLimits(env: NodeJS.ProcessEnv = process.env): MediaLimits {
  const limits: MediaLimits = { ...DEFAULT_MEDIA_LIMITS };
  for (const key of Object.keys(limits) as (keyof MediaLimits)[]) {
    const raw = env[`WA_${key.toUpperCase()}`];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`WA_${key.toUpperCase()}=${raw}: must be a positive integer`);
    limits[key] = value;
  }
  return limits;
}

/** The size limit of one media kind. */
export function mediaBytesMax(limits: MediaLimits, kind: MediaKind): number {
  switch (kind) {
    case 'image':
      return limits.media_image_bytes_max;
    case 'video':
      return limits.media_video_bytes_max;
    case 'audio':
      return limits.media_audio_bytes_max;
    case 'document':
      return limits.media_document_bytes_max;
  }
}

/** Fixed bounds of the blob stores (not overridable: they are the stores' internals). */
export const BLOB_STORE_LIMITS = Object.freeze({
  /** Bytes read from a staged file per hashing step: big enough to amortise the syscall, small enough to stay out of the old generation. */
  hash_read_bytes: 256 * 1024,
  /** An S3 request that has not answered in this long fails (the upload is not acknowledged; the client retries). */
  s3_request_timeout_ms: 30_000,
});

/** Where blobs live: WA_BLOB_STORE=embedded (files in the data dir) or s3 (any S3-API server). */
export interface BlobSettings {
  kind: 'embedded' | 's3';
  /** WA_BLOB_DIR (<data dir>/blobs): the embedded store's root. */
  dir: string;
  /** WA_BLOB_S3_ENDPOINT (e.g. http://127.0.0.1:9000), WA_BLOB_S3_BUCKET (wa-media), WA_BLOB_S3_REGION (us-east-1). */
  s3: S3Settings;
}

export interface S3Settings {
  endpoint: string;
  bucket: string;
  region: string;
  /** WA_BLOB_S3_ACCESS_KEY / WA_BLOB_S3_SECRET_KEY. */
  accessKeyId: string;
  secretAccessKey: string;
}

/** Fixed bounds of media's HTTP requests (server/gateway/media-endpoint.ts). */
export const MEDIA_HTTP_LIMITS = Object.freeze({
  /** An upload's declaration is four short JSON fields; anything bigger is refused with 413 before parsing. */
  declaration_body_bytes_max: 1024,
  /** How often idle upload sessions are looked for (media_upload_idle_seconds is the idle bound itself). */
  session_sweep_interval_ms: 60_000,
});

/** WA_DATA_DIR (./data), as config.ts reads it: the embedded blobs go under it. */
export function blobSettings(env: NodeJS.ProcessEnv = process.env, dataDir = resolve(env.WA_DATA_DIR || 'data')): BlobSettings {
  const kind = env.WA_BLOB_STORE || 'embedded';
  if (kind !== 'embedded' && kind !== 's3') throw new Error(`WA_BLOB_STORE=${kind}: must be embedded or s3`);
  const s3: S3Settings = {
    endpoint: env.WA_BLOB_S3_ENDPOINT || '',
    bucket: env.WA_BLOB_S3_BUCKET || 'wa-media',
    region: env.WA_BLOB_S3_REGION || 'us-east-1',
    accessKeyId: env.WA_BLOB_S3_ACCESS_KEY || '',
    secretAccessKey: env.WA_BLOB_S3_SECRET_KEY || '',
  };
  if (kind === 's3' && (!s3.endpoint || !s3.accessKeyId || !s3.secretAccessKey)) {
    throw new Error('WA_BLOB_STORE=s3 needs WA_BLOB_S3_ENDPOINT, WA_BLOB_S3_ACCESS_KEY and WA_BLOB_S3_SECRET_KEY');
  }
  return { kind, dir: env.WA_BLOB_DIR || join(dataDir, 'blobs'), s3 };
}

/**
 * A gateway's staging dir for uploads in progress (WA_MEDIA_STAGING_DIR, default <blob dir>/.uploads/<gateway id>):
 * one per gateway (it wipes it at start), on the blob dir's filesystem so a finished upload is renamed, not copied.
 */
export function stagingDirOf(blobs: BlobSettings, gatewayId: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.WA_MEDIA_STAGING_DIR || join(blobs.dir, '.uploads', gatewayId.replace(/[^A-Za-z0-9_.-]/g, '_'));
}
