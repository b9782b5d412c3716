// Media over HTTP on the gateway (docs/design/022-media.md), every request with
// the user's token (Authorization: Bearer ...):
//   POST /v1/media/uploads        {chat_id, kind, size, sha256}  -> 201 {upload_id, offset: 0}
//                                                                  or 200 {complete, deduplicated: true} (already stored)
//   PUT  /v1/media/uploads/<id>   Upload-Offset: N, a chunk      -> 200 {offset} or 200 {complete} (the last chunk)
//   GET  /v1/media/uploads/<id>                                  -> 200 {offset, size}: resume from offset
//   GET  /v1/media/<sha256>?chat=<chat id>  [Range: bytes=a-b]   -> 200 / 206 the ciphertext
// Uploads and downloads are bound to a chat: the chat service says who its
// members are (ChatAccess, one unary call per request), so a download link is
// worth nothing outside the chat. Refusals: {"error": CODE, "message"} with the
// status in server/media/errors.ts. Bodies are bounded before they are read
// into memory (a declaration: MEDIA_HTTP_LIMITS; a chunk: media_chunk_bytes_max).
// Per downloaded byte: one read from the blob store in steps of
// media_read_step_bytes and one socket write, paced by the socket's backpressure.
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { MEDIA_HTTP_LIMITS, type MediaLimits } from '../common/config-media';
import { verifyToken } from '../common/token';
import type { GatewayMediaStats } from '../metrics/gateway-metrics';
import { BLOB_HASH_RE, BlobRangeError, type BlobStore } from '../media/blob-store';
import { collectOnce } from '../media/collector';
import { MediaCode, MediaError } from '../media/errors';
import { REF_CHAT_ID_RE, refExpiresAtMs, withDownload } from '../media/refs';
import { parseDeclaration, type UploadProgress, type UploadSessions } from '../media/uploads';
import { parseRange, readBody, streamBody, unsatisfiedRange, type Exchange } from './media-http';

export interface MediaOptions {
  limits: MediaLimits;
  store: BlobStore;
  uploads: UploadSessions;
}

export interface MediaContext extends MediaOptions {
  tokenSecret: string;
  /** ChatAccess on the chat service: membership now, and the member count. */
  access: (user: number, chatId: string) => Promise<{ member: boolean; members: number }>;
  log: (line: string) => void;
}

/** Plain counters, read by /healthz and, as the same shape, by the gateway's /metrics. */
export type MediaStats = GatewayMediaStats;

export class MediaEndpoint {
  readonly stats: MediaStats = { uploadBytes: 0, downloadBytes: 0, uploadsCompleted: 0, uploadsDeduplicated: 0, downloads: 0, refusals: 0 };
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly ctx: MediaContext) {}

  get uploadsOpen(): number {
    return this.ctx.uploads.open;
  }

  mount(app: TemplatedApp): void {
    app.post('/v1/media/uploads', (res, req) => this.handle(res, req, (x, user) => this.begin(x, user)));
    app.put('/v1/media/uploads/:id', (res, req) => {
      const id = req.getParameter(0) ?? '';
      const offset = req.getHeader('upload-offset');
      this.handle(res, req, (x, user) => this.chunk(x, user, id, offset));
    });
    app.get('/v1/media/uploads/:id', (res, req) => {
      const id = req.getParameter(0) ?? '';
      this.handle(res, req, async (x, user) => {
        const s = this.ctx.uploads.get(id, user);
        json(x, '200 OK', { upload_id: s.id, offset: s.offset, size: s.size });
      });
    });
    app.get('/v1/media/:hash', (res, req) => {
      const hash = req.getParameter(0) ?? '';
      const chat = new URLSearchParams(req.getQuery() ?? '').get('chat') ?? '';
      const range = req.getHeader('range');
      this.handle(res, req, (x, user) => this.download(x, user, hash, chat, range));
    });
  }

  /** The idle-session sweep and the retention collector, on timers that do not hold the process open. */
  start(): void {
    const sweep = setInterval(() => this.ctx.uploads.sweep(Date.now()), MEDIA_HTTP_LIMITS.session_sweep_interval_ms);
    const collect = setInterval(() => {
      collectOnce(this.ctx.store, this.ctx.limits, Date.now()).then(
        (r) => this.ctx.log(`media collector: ${JSON.stringify(r)}`),
        (err: Error) => this.ctx.log(`media collector failed: ${err.message}`),
      );
    }, this.ctx.limits.media_collect_interval_seconds * 1000);
    for (const t of [sweep, collect]) {
      t.unref();
      this.timers.push(t);
    }
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.ctx.uploads.close();
    await this.ctx.store.close();
  }

  /** Reads the token now (uWS's request is valid only in this call), then runs `fn`; every refusal becomes an answer. */
  private handle(res: HttpResponse, req: HttpRequest, fn: (x: Exchange, user: number) => Promise<void>): void {
    const x: Exchange = { res, aborted: false, onAbort: null, bodyDone: req.getMethod() === 'get' };
    res.onAborted(() => {
      x.aborted = true;
      x.onAbort?.();
    });
    x.body = (max) => readBody(x, max);
    const auth = req.getHeader('authorization');
    const claims = verifyToken(this.ctx.tokenSecret, auth.startsWith('Bearer ') ? auth.slice(7) : '');
    const run = claims ? fn(x, claims.userId) : Promise.reject(new MediaError(MediaCode.UNAUTHENTICATED, 'a valid token is required (Authorization: Bearer ...)'));
    run.catch((err: unknown) => this.refuse(x, err));
  }

  private refuse(x: Exchange, err: unknown): void {
    this.stats.refusals++;
    if (err instanceof MediaError) {
      const headers: Record<string, string> = err.code === MediaCode.RANGE_NOT_SATISFIABLE ? { 'content-range': unsatisfiedRange(Number(err.extra.size)) } : {};
      return json(x, err.code[1], { error: err.code[0], message: err.message, ...err.extra }, headers);
    }
    this.ctx.log(`media: ${err instanceof Error ? err.stack : String(err)}`);
    json(x, MediaCode.UNAVAILABLE[1], { error: MediaCode.UNAVAILABLE[0], message: err instanceof Error ? err.message : String(err) });
  }

  private async member(user: number, chatId: string): Promise<number> {
    let a;
    try {
      a = await this.ctx.access(user, chatId);
    } catch (err) {
      throw new MediaError(MediaCode.UNAVAILABLE, `chat service: ${(err as Error).message}`);
    }
    if (!a.member) throw new MediaError(MediaCode.NOT_A_MEMBER, `user ${user} is not a member of ${chatId}`);
    return a.members;
  }

  private async begin(x: Exchange, user: number): Promise<void> {
    const body = await x.body!(MEDIA_HTTP_LIMITS.declaration_body_bytes_max);
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new MediaError(MediaCode.INVALID_ARGUMENT, 'the body must be JSON: {chat_id, kind, size, sha256}');
    }
    const d = parseDeclaration(json, this.ctx.limits);
    const members = await this.member(user, d.chat_id);
    const p = await this.ctx.uploads.begin(user, d, members, Date.now());
    this.answer(x, p, '201 Created');
  }

  private async chunk(x: Exchange, user: number, id: string, offsetHeader: string): Promise<void> {
    const offset = Number(offsetHeader);
    if (!/^[0-9]{1,15}$/.test(offsetHeader) || !Number.isSafeInteger(offset)) {
      throw new MediaError(MediaCode.INVALID_ARGUMENT, 'Upload-Offset must be the byte offset of this chunk');
    }
    this.ctx.uploads.get(id, user); // an unknown id is refused before its body is read
    const chunk = await x.body!(this.ctx.limits.media_chunk_bytes_max);
    const p = await this.ctx.uploads.append(id, user, offset, chunk, Date.now());
    this.stats.uploadBytes += chunk.length;
    this.answer(x, p, '200 OK');
  }

  private answer(x: Exchange, p: UploadProgress, openStatus: string): void {
    if (!p.complete) return json(x, openStatus, { complete: false, upload_id: p.upload_id, offset: p.offset, size: p.size });
    this.stats.uploadsCompleted++;
    if (p.deduplicated) this.stats.uploadsDeduplicated++;
    json(x, '200 OK', { complete: true, deduplicated: p.deduplicated, sha256: p.ref.hash, chat_id: p.ref.chat_id, size: p.ref.size });
  }

  private async download(x: Exchange, user: number, hash: string, chatId: string, rangeHeader: string): Promise<void> {
    if (!BLOB_HASH_RE.test(hash)) throw new MediaError(MediaCode.INVALID_ARGUMENT, 'the path must be /v1/media/<sha256 of the ciphertext>');
    if (!REF_CHAT_ID_RE.test(chatId)) throw new MediaError(MediaCode.INVALID_ARGUMENT, '?chat=<chat id> is required');
    await this.member(user, chatId);
    const ref = await this.ctx.store.refs.get(hash, chatId);
    if (!ref) throw new MediaError(MediaCode.MEDIA_NOT_FOUND, `no media ${hash} in ${chatId}`);
    const now = Date.now();
    if (refExpiresAtMs(ref, this.ctx.limits.media_retention_seconds, this.ctx.limits.media_undelivered_ttl_seconds) <= now) {
      throw new MediaError(MediaCode.MEDIA_EXPIRED, `media ${hash} in ${chatId} has expired`);
    }
    const info = await this.ctx.store.stat(hash);
    if (!info) throw new MediaError(MediaCode.MEDIA_NOT_FOUND, `media ${hash} is no longer stored`);
    const range = parseRange(rangeHeader, info.size);
    if (range instanceof BlobRangeError) {
      throw new MediaError(MediaCode.RANGE_NOT_SATISFIABLE, range.message, { size: info.size });
    }
    const sent = await streamBody(x, this.ctx.store, hash, info.size, range, this.ctx.limits.media_read_step_bytes);
    this.stats.downloadBytes += sent;
    if (x.aborted || range.end !== info.size - 1) return;
    // The blob's last byte reached this member: a download, counted once per member, for retention.
    // Read again just before the write: another member's download may have been recorded meanwhile. Two gateways
    // recording at the same instant can still lose one (a read-modify-write): that media then waits for the
    // undelivered TTL instead of retention after delivery; longer kept, never lost early.
    this.stats.downloads++;
    const record = async () => {
      const latest = await this.ctx.store.refs.get(hash, chatId);
      const updated = latest && withDownload(latest, user, Date.now());
      if (updated) await this.ctx.store.refs.put(updated);
    };
    await record().catch((err: Error) => this.ctx.log(`media: download not recorded: ${err.message}`));
  }
}

/**
 * Answers with JSON. A refusal sent before the request's body was read closes the connection: the rest of that
 * body must not be taken for the next request.
 */
function json(x: Exchange, status: string, body: object, headers: Record<string, string> = {}): void {
  if (x.aborted) return;
  x.aborted = true;
  // A failure after the body started (the store failed mid-download): the status is gone, the client sees a cut
  // response (fewer bytes than Content-Length) and retries the rest by range.
  if (x.started) return x.res.close() as unknown as void;
  x.res.cork(() => {
    x.res.writeStatus(status).writeHeader('content-type', 'application/json');
    for (const [k, v] of Object.entries(headers)) x.res.writeHeader(k, v);
    x.res.end(JSON.stringify(body), !x.bodyDone);
  });
}
