// Resumable upload sessions (docs/design/022-media.md). A client declares the
// ciphertext's size, kind and SHA-256 and the chat it is for; then sends chunks
// at offsets; the session's committed offset is what it has appended to its
// staged file, and a client that lost a connection asks for it and resumes
// there. The last chunk hands the staged file to the blob store, which checks
// the hash before anything is visible; then the chat's reference is written
// and only then is the upload acknowledged. Nothing partial is ever stored:
// an unfinished session's bytes live in the staging dir until it idles out.
//
// Sessions live in this gateway's memory: a resume must reach the gateway that
// holds the session (the upload id is random and unguessable; a load balancer
// keeps HTTP requests of one client on one gateway, or the client starts over).
// Per chunk: one write at the offset; no fsync (the blob store fsyncs the whole
// file once, at the end; a crashed gateway's sessions are gone anyway).
// Before a reference to a stored blob is written (a forward, or a put), the
// collector's condemned mark is cleared and a sweep in flight waited out
// (condemn.ts), so a reference is never written to a blob about to be deleted.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { mediaBytesMax, MEDIA_KINDS, type MediaKind, type MediaLimits } from '../common/config-media';
import { BLOB_HASH_RE, BlobHashMismatch, type BlobStore } from './blob-store';
import { MediaCode, MediaError } from './errors';
import { settleBeforeReference } from './condemn';
import { REF_CHAT_ID_RE, refExpiresAtMs, type MediaRef } from './refs';

export interface UploadDeclaration {
  chat_id: string;
  kind: MediaKind;
  size: number;
  sha256: string;
}

export interface Session extends UploadDeclaration {
  id: string;
  user: number;
  /** Members of the chat when the upload was opened (ChatAccess). */
  members: number;
  offset: number;
  file: string;
  lastActiveMs: number;
  /** A chunk is being written: a second one at the same time is refused (its offset could not be known). */
  busy: boolean;
}

export type UploadProgress = { complete: false; upload_id: string; offset: number; size: number } | { complete: true; ref: MediaRef; deduplicated: boolean };

/** The upload's declaration from a parsed JSON body: every field checked, a MediaError for the first bad one. */
export function parseDeclaration(json: unknown, limits: MediaLimits): UploadDeclaration {
  const o = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  const bad = (m: string) => new MediaError(MediaCode.INVALID_ARGUMENT, m);
  if (typeof o.chat_id !== 'string' || !REF_CHAT_ID_RE.test(o.chat_id)) throw bad('chat_id must be a chat id ("d.<a>.<b>" or "g.<n>")');
  if (typeof o.sha256 !== 'string' || !BLOB_HASH_RE.test(o.sha256)) throw bad('sha256 must be 64 lowercase hex characters (the SHA-256 of the ciphertext)');
  if (typeof o.kind !== 'string' || !(MEDIA_KINDS as readonly string[]).includes(o.kind)) {
    throw new MediaError(MediaCode.UNSUPPORTED_MEDIA_TYPE, `kind must be one of ${MEDIA_KINDS.join(', ')}`);
  }
  const kind = o.kind as MediaKind;
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size <= 0) throw bad('size must be a positive integer (bytes of ciphertext)');
  const max = mediaBytesMax(limits, kind);
  if (o.size > max) throw new MediaError(MediaCode.TOO_LARGE, `${kind} is limited to ${max} bytes (media_${kind}_bytes_max)`);
  return { chat_id: o.chat_id, kind, size: o.size, sha256: o.sha256 };
}

export class UploadSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly perUser = new Map<number, number>();

  private constructor(private readonly limits: MediaLimits, private readonly dir: string, private readonly store: BlobStore) {}

  /** Opens the staging dir; files a previous process left there belong to sessions that no longer exist. */
  static async open(limits: MediaLimits, dir: string, store: BlobStore): Promise<UploadSessions> {
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(dir)) await rm(join(dir, name), { force: true });
    return new UploadSessions(limits, dir, store);
  }

  get open(): number {
    return this.sessions.size;
  }

  /** A new session, or, when the blob is already stored (a forward), its reference in this chat at once. */
  async begin(user: number, d: UploadDeclaration, members: number, nowMs: number): Promise<UploadProgress> {
    if ((await this.store.stat(d.sha256))?.size === d.size) {
      const checkedAt = performance.now();
      await settleBeforeReference(this.store.refs, d.sha256, this.limits, nowMs);
      // Looked at again after the settle: a condemned blob a sweep deleted meanwhile is uploaded again like new content.
      if ((await this.store.stat(d.sha256))?.size === d.size) {
        return { complete: true, ref: await this.reference(user, d, members, nowMs, checkedAt), deduplicated: true };
      }
    }
    if (this.sessions.size >= this.limits.media_upload_sessions_max) {
      throw new MediaError(MediaCode.TOO_MANY_UPLOADS, `this gateway holds media_upload_sessions_max=${this.limits.media_upload_sessions_max} uploads`);
    }
    if ((this.perUser.get(user) ?? 0) >= this.limits.media_user_upload_sessions_max) {
      throw new MediaError(MediaCode.TOO_MANY_UPLOADS, `media_user_upload_sessions_max=${this.limits.media_user_upload_sessions_max} uploads open`);
    }
    const id = randomBytes(16).toString('hex');
    const file = join(this.dir, id);
    await (await open(file, 'wx', 0o600)).close();
    this.sessions.set(id, { ...d, id, user, members, offset: 0, file, lastActiveMs: nowMs, busy: false });
    this.perUser.set(user, (this.perUser.get(user) ?? 0) + 1);
    return { complete: false, upload_id: id, offset: 0, size: d.size };
  }

  /** The session of this user (another user's id is as unknown as a made-up one). */
  get(id: string, user: number): Session {
    const s = this.sessions.get(id);
    if (!s || s.user !== user) throw new MediaError(MediaCode.UPLOAD_NOT_FOUND, 'no such upload: open a new one');
    return s;
  }

  /** Appends a chunk at `offset`; the chunk that completes the declared size finishes the upload. */
  async append(id: string, user: number, offset: number, chunk: Buffer, nowMs: number): Promise<UploadProgress> {
    const s = this.get(id, user);
    if (s.busy) throw new MediaError(MediaCode.OFFSET_MISMATCH, 'another chunk of this upload is in flight', { offset: s.offset });
    if (offset !== s.offset) throw new MediaError(MediaCode.OFFSET_MISMATCH, `the committed offset is ${s.offset}`, { offset: s.offset });
    if (chunk.length === 0) throw new MediaError(MediaCode.INVALID_ARGUMENT, 'an empty chunk');
    if (offset + chunk.length > s.size) throw new MediaError(MediaCode.TOO_LARGE, `the chunk ends past the declared size ${s.size}`, { offset: s.offset });
    s.busy = true;
    try {
      const fh = await open(s.file, 'r+');
      try {
        await fh.write(chunk, 0, chunk.length, offset);
      } finally {
        await fh.close();
      }
      s.offset += chunk.length;
      s.lastActiveMs = nowMs;
      if (s.offset < s.size) return { complete: false, upload_id: id, offset: s.offset, size: s.size };
      return await this.finish(s, nowMs);
    } finally {
      s.busy = false;
    }
  }

  /** All bytes are in: the store verifies the hash and makes the blob durable, then the chat's reference is written. */
  private async finish(s: Session, nowMs: number): Promise<UploadProgress> {
    this.drop(s, false);
    try {
      // Settled before the put: the content may be stored already and condemned (or a stale mark may outlive a deletion).
      const checkedAt = performance.now();
      await settleBeforeReference(this.store.refs, s.sha256, this.limits, nowMs);
      const put = await this.store.put(s.sha256, { file: s.file });
      return { complete: true, ref: await this.reference(s.user, s, s.members, nowMs, checkedAt), deduplicated: !put.created };
    } catch (err) {
      if (err instanceof BlobHashMismatch) {
        throw new MediaError(MediaCode.HASH_MISMATCH, `the uploaded bytes hash to ${err.actual}, not the declared ${err.expected}; nothing was stored`);
      }
      throw err;
    }
  }

  /**
   * The reference that makes the blob downloadable in the chat; an existing live one (a re-share) is kept as it is,
   * an expired one is replaced. `checkedAt` (performance.now()) is the settle: a reference written later than half the
   * condemned grace after it could land after a sweep (a mark made after our check, then its grace), so the upload is
   * not acknowledged and the client's retry settles again.
   */
  private async reference(user: number, d: UploadDeclaration, members: number, nowMs: number, checkedAt: number): Promise<MediaRef> {
    const old = await this.store.refs.get(d.sha256, d.chat_id);
    const kept = old !== null && refExpiresAtMs(old, this.limits.media_retention_seconds, this.limits.media_undelivered_ttl_seconds) > nowMs;
    const ref: MediaRef = {
      hash: d.sha256, chat_id: d.chat_id, kind: d.kind, size: d.size, uploader: user, created_ms: nowMs,
      members, downloaded_by: [], delivered_all_ms: 0,
    };
    if (!kept) await this.store.refs.put(ref);
    if (performance.now() - checkedAt > (this.limits.media_condemned_grace_seconds * 1000) / 2) {
      throw new MediaError(MediaCode.UNAVAILABLE, 'the blob store was too slow to reference the media safely; retry');
    }
    return kept ? old : ref;
  }

  private drop(s: Session, removeFile: boolean): void {
    if (!this.sessions.delete(s.id)) return;
    const n = (this.perUser.get(s.user) ?? 1) - 1;
    if (n > 0) this.perUser.set(s.user, n);
    else this.perUser.delete(s.user);
    if (removeFile) void rm(s.file, { force: true });
  }

  /** Drops sessions idle past media_upload_idle_seconds, with their staged bytes; returns how many. */
  sweep(nowMs: number): number {
    let dropped = 0;
    for (const s of [...this.sessions.values()]) {
      if (s.busy || nowMs - s.lastActiveMs <= this.limits.media_upload_idle_seconds * 1000) continue;
      this.drop(s, true);
      dropped++;
    }
    return dropped;
  }

  /** Ends every session (the gateway stops): staged bytes are removed. */
  async close(): Promise<void> {
    for (const s of [...this.sessions.values()]) this.drop(s, false);
    for (const name of await readdir(this.dir).catch(() => [] as string[])) await rm(join(this.dir, name), { force: true });
  }
}
