// Media messages (traffic.mediaShare): per media send, the sender draws a file
// size (traffic.mediaBytes), encrypts random bytes of that size
// (loadgen/client/media-crypto.ts, kind document), uploads the ciphertext
// through its gateway's HTTP media endpoint with its token, and only then the
// world sends the message whose body carries the reference (after the load
// header: {i, h, k, f, n} = entry id, enc_sha256, media key, file_sha256, file
// size). The recipient reads the reference out of the message it got,
// downloads the blob with its own token, checks the hash and MAC, decrypts
// and checks the plaintext hash. Latency counts from the iteration's
// scheduled time, like every other latency.
//
// The media accounting, checked by the summary (engine/media-report.ts): every
// scheduled media send ends as exactly one of
//   verified       the recipient downloaded and verified it
//   failed         with a reason: upload_<status>, upload_timeout, upload_error,
//                  message_<send failure>, download_<status>, download_timeout,
//                  download_error, integrity, media_busy, no_sender
//   dropped        no free VU when it was due
//   queued_at_end  unfinished at the end, by stage: uploading, undelivered, downloading
// Each is counted where it happens; an entry lives in `entries` from its
// start to its outcome, so nothing is counted twice (a late answer after the
// outcome or after the end finds no entry).
//
// Cost per media send: one file's worth of random bytes, AES-CBC + HMAC + two
// SHA-256 passes on the worker thread, one upload and one download over HTTP
// (the sender's and recipient's keep-alive connections), the file held in memory
// twice while in flight (bounded by MEDIA_IN_FLIGHT_MAX and MEDIA_FILE_BYTES_MAX).
import { randomBytes } from 'node:crypto';
import type { MetricsRegistry } from '../metrics/registry';
import type { MediaAccess } from '../drivers/connection';
import { decryptMedia, encryptMedia, MediaIntegrityError } from '../client/media-crypto';
import { Rng, type Sampler } from '../model/distribution';
import { PAYLOAD_HEADER_BYTES } from '../model/payload';
import { MEDIA_IN_FLIGHT_MAX, MEDIA_UPLOAD_CHUNK_BYTES } from '../model/media-limits';

const KIND = 'document';
const enum Stage { Uploading, Undelivered, Downloading }
const STAGE_NAMES = ['uploading', 'undelivered', 'downloading'];

interface Entry {
  scheduledMs: number;
  scenario: number;
  stage: Stage;
  /** The message body: header space (the world writes it per transmission) then the reference. */
  body: Buffer;
}

/** The reference a media message carries after its load header. */
interface MediaRef { i: number; h: string; k: string; f: string; n: number }

const TIMED_OUT = Symbol('timed out');

function within<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** What the send accounting's caller (the world) hears about one media send. */
export interface MediaSendCallbacks {
  /** The upload completed: send the message with this body (header space + reference), tagged with this media id. */
  uploaded(id: number, body: Buffer): void;
  /** It failed before any message was sent (reason as counted in sends_failed). */
  failed(reason: string): void;
}

export class MediaSends {
  private readonly entries = new Map<number, Entry>();
  private nextId = 1;
  private readonly rng = new Rng(0x3ed1a);
  /** HTTP calls running (uploads, downloads): the delivery grace waits for them. */
  running = 0;

  constructor(
    private readonly access: MediaAccess,
    private readonly metrics: MetricsRegistry,
    private readonly sizes: Sampler,
    private readonly timeoutMs: number,
    private readonly now: () => number,
  ) {}

  /** Media sends started and not yet verified, failed or counted at the end. */
  get inFlight(): number {
    return this.entries.size;
  }

  /** A media send that could not start (no sender): scheduled and failed at once. */
  failedAtOnce(scenario: number, reason: string): void {
    this.metrics.counter.media_scheduled.add(1, scenario);
    this.countFailed(scenario, reason);
  }

  dropped(scenario: number): void {
    const m = this.metrics;
    m.counter.media_scheduled.add(1, scenario);
    m.counter.media_dropped.add(1, scenario);
  }

  /** Start one media send from global user `from` to `to`, scheduled at `scheduledMs`. */
  start(scheduledMs: number, scenario: number, from: number, to: number, cb: MediaSendCallbacks): void {
    this.metrics.counter.media_scheduled.add(1, scenario);
    if (this.entries.size >= MEDIA_IN_FLIGHT_MAX) {
      this.countFailed(scenario, 'media_busy');
      return cb.failed('media_busy');
    }
    const id = this.nextId++;
    const entry: Entry = { scheduledMs, scenario, stage: Stage.Uploading, body: Buffer.alloc(0) };
    this.entries.set(id, entry);
    this.running++;
    void this.upload(id, entry, from, to).then((outcome) => {
      this.running--;
      if (this.entries.get(id) !== entry) return; // the run ended meanwhile: counted queued_at_end
      if (typeof outcome === 'string') {
        this.fail(id, outcome);
        return cb.failed(`media_${outcome}`);
      }
      const m = this.metrics;
      m.counter.media_uploaded.add(1, scenario);
      m.counter.media_bytes_up.add(outcome, scenario);
      m.trend.media_upload_time.record(this.now() - scheduledMs, scenario);
      entry.stage = Stage.Undelivered;
      cb.uploaded(id, entry.body);
    });
  }

  /** Encrypt a fresh file and upload it; the ciphertext bytes sent, or why it failed. */
  private async upload(id: number, entry: Entry, from: number, to: number): Promise<number | string> {
    try {
      const e = encryptMedia(randomBytes(Math.max(1, this.sizes(this.rng))), KIND);
      const ref: MediaRef = { i: id, h: e.encSha256, k: e.mediaKey.toString('base64'), f: e.fileSha256, n: e.fileBytes };
      const declared = { chat_id: this.access.chatIdOf(from, to), kind: KIND, size: e.upload.length, sha256: e.encSha256 };
      const a = await within(this.access.clientOf(from).upload(declared, e.upload, MEDIA_UPLOAD_CHUNK_BYTES), this.timeoutMs);
      if (a === TIMED_OUT) return 'upload_timeout';
      if (a.status !== 200 || a.json.complete !== true) return `upload_${a.status}`;
      entry.body = Buffer.concat([Buffer.alloc(PAYLOAD_HEADER_BYTES), Buffer.from(JSON.stringify(ref))]);
      return a.json.deduplicated === true ? 0 : e.upload.length;
    } catch {
      return 'upload_error';
    }
  }

  /**
   * The message of media send `id` failed (`reason`) while it was still undelivered; a later delivery
   * downloads nothing. One already delivered is left to its download (the file reached its recipient).
   */
  messageFailed(id: number, reason: string): void {
    if (this.entries.get(id)?.stage === Stage.Undelivered) this.fail(id, reason);
  }

  private fail(id: number, reason: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.countFailed(e.scenario, reason);
  }

  private countFailed(scenario: number, reason: string): void {
    this.metrics.counter.media_failed.add(1, scenario);
    this.metrics.addLabelled('media_failed', 'reason', reason);
  }

  /** A media message reached global user `to` in `chatId` (first delivery): download and verify what it references. */
  delivered(to: number, chatId: string, body: Uint8Array): void {
    let ref: MediaRef;
    try {
      ref = JSON.parse(Buffer.from(body.buffer, body.byteOffset + PAYLOAD_HEADER_BYTES, body.length - PAYLOAD_HEADER_BYTES).toString()) as MediaRef;
    } catch {
      this.metrics.counter.errors.add(1);
      return;
    }
    const entry = this.entries.get(ref.i);
    if (!entry || entry.stage !== Stage.Undelivered) return; // failed already (its message timed out), or not ours
    entry.stage = Stage.Downloading;
    this.running++;
    void this.download(to, chatId, ref).then((outcome) => {
      this.running--;
      if (this.entries.get(ref.i) !== entry) return;
      if (typeof outcome === 'string') return this.fail(ref.i, outcome);
      this.entries.delete(ref.i);
      const m = this.metrics;
      m.counter.media_verified.add(1, entry.scenario);
      m.counter.media_bytes_down.add(outcome, entry.scenario);
      m.trend.media_latency.record(this.now() - entry.scheduledMs, entry.scenario);
    });
  }

  /** Download and verify; the bytes downloaded, or why it failed. */
  private async download(to: number, chatId: string, ref: MediaRef): Promise<number | string> {
    try {
      const got = await within(this.access.clientOf(to).download(ref.h, chatId), this.timeoutMs);
      if (got === TIMED_OUT) return 'download_timeout';
      if (got.status !== 200) return `download_${got.status}`;
      decryptMedia(got.bytes, KIND, { mediaKey: Buffer.from(ref.k, 'base64'), encSha256: ref.h, fileSha256: ref.f, fileBytes: ref.n });
      return got.bytes.length;
    } catch (err) {
      return err instanceof MediaIntegrityError ? 'integrity' : 'download_error';
    }
  }

  /**
   * End of run: every unfinished media send is counted queued_at_end by stage and forgotten. One still
   * uploading has no message yet, so its send is queued at the end too (`queuedSend`).
   */
  settleAtEnd(queuedSend: (scenario: number) => void): void {
    const m = this.metrics;
    for (const e of this.entries.values()) {
      m.counter.media_queued_at_end.add(1, e.scenario);
      m.addLabelled('media_queued_at_end', 'stage', STAGE_NAMES[e.stage]!);
      if (e.stage === Stage.Uploading) queuedSend(e.scenario);
    }
    this.entries.clear();
  }
}
