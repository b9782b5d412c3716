// Media references: which chat a blob was posted in, by whom, and who of the
// chat has downloaded it (docs/design/022-media.md). A reference is what makes
// a blob downloadable (by the chat's members only) and what keeps it alive:
// the collector (collector.ts) deletes expired references, then blobs with no
// reference left. One small JSON record per (blob, chat), kept next to the
// blobs by the same engine (files or S3 objects), so every gateway that shares
// the blob store shares the references too.

/** Chat ids as the chat service makes them ("d.<a>.<b>", "g.<id>"): also safe as a file or key name. */
export const REF_CHAT_ID_RE = /^[dg]\.[1-9][0-9]{0,15}(\.[1-9][0-9]{0,15})?$/;

export interface MediaRef {
  hash: string;
  chat_id: string;
  /** The media kind the uploader declared (config-media.ts MEDIA_KINDS). */
  kind: string;
  size: number;
  /** The user whose upload (or forward) created the reference. */
  uploader: number;
  created_ms: number;
  /** Members of the chat when the reference was made: the downloads needed for "delivered to all". */
  members: number;
  /** Members other than the uploader who downloaded it (bounded by the chat's size: group_members_max). */
  downloaded_by: number[];
  /** When the last needed download happened; 0 until then. Retention counts from here. */
  delivered_all_ms: number;
}

/**
 * A mark on a blob (condemn.ts): `condemned` when the collector found it unreferenced (it is deleted only a grace
 * later, if still unreferenced); `cleared` when a reference came back and removed the condemned marks (a forward
 * that sees a recent clearance waits out a sweep that may have read the mark before it was cleared).
 */
export interface BlobMark {
  kind: 'condemned' | 'cleared';
  atMs: number;
}

/** A blob's references and marks, from one listing of the blob's records. */
export interface BlobRecords {
  refs: MediaRef[];
  marks: BlobMark[];
}

export interface RefStore {
  put(ref: MediaRef): Promise<void>;
  get(hash: string, chatId: string): Promise<MediaRef | null>;
  /** Every reference to one blob (a blob is forwarded to a handful of chats, not thousands). */
  ofBlob(hash: string): Promise<MediaRef[]>;
  delete(hash: string, chatId: string): Promise<void>;
  /** The blob's references and marks (the collector's one read per blob). */
  scan(hash: string): Promise<BlobRecords>;
  /** Only the blob's marks: one listing, no record read (a forward's check). */
  marks(hash: string): Promise<BlobMark[]>;
  /** Durable before it resolves, like a reference. */
  putMark(hash: string, mark: BlobMark): Promise<void>;
  deleteMark(hash: string, mark: BlobMark): Promise<void>;
}

/** A mark is kept as an empty record named by its kind and time, beside the references: a listing shows it. */
export function markName(mark: BlobMark): string {
  return `${mark.kind}-${mark.atMs}.mark`;
}

const MARK_NAME_RE = /^(condemned|cleared)-([0-9]{1,16})\.mark$/;

/** The mark a record name stands for, or null for anything else (references, temp files). */
export function parseMarkName(name: string): BlobMark | null {
  const m = MARK_NAME_RE.exec(name);
  return m ? { kind: m[1] as BlobMark['kind'], atMs: Number(m[2]) } : null;
}

/** The record's encoding, shared by the engines; a record that does not parse is treated as absent. */
export function encodeRef(ref: MediaRef): Buffer {
  return Buffer.from(JSON.stringify(ref));
}

export function decodeRef(bytes: Buffer): MediaRef | null {
  try {
    const r = JSON.parse(bytes.toString('utf8')) as MediaRef;
    return typeof r.hash === 'string' && typeof r.chat_id === 'string' && Array.isArray(r.downloaded_by) ? r : null;
  } catch {
    return null;
  }
}

/** A download by `user`: recorded once per member; the last needed one marks the media delivered to all. */
export function withDownload(ref: MediaRef, user: number, nowMs: number): MediaRef | null {
  if (user === ref.uploader || ref.downloaded_by.includes(user)) return null;
  const downloaded_by = [...ref.downloaded_by, user];
  const delivered_all_ms = ref.delivered_all_ms || (downloaded_by.length >= ref.members - 1 ? nowMs : 0);
  return { ...ref, downloaded_by, delivered_all_ms };
}

/**
 * When a reference expires. The seed: kept until delivered to all recipients, then N days (media_retention_seconds);
 * media some recipient never fetched goes after the undelivered TTL (the offline queue's: nobody can be sent it later).
 */
export function refExpiresAtMs(ref: MediaRef, retentionSeconds: number, undeliveredTtlSeconds: number): number {
  return ref.delivered_all_ms ? ref.delivered_all_ms + retentionSeconds * 1000 : ref.created_ms + undeliveredTtlSeconds * 1000;
}
