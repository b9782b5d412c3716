// HTTP mechanics of the media endpoint (media-endpoint.ts): a bounded request
// body, a Range header against a blob's size (RFC 9110 14.1.2: one range,
// "a-b", "a-" or "-n"), and a blob range streamed to the socket in bounded
// steps that wait for the socket to drain (uWS tryEnd/onWritable), so a
// 100 MB download holds media_read_step_bytes of memory, not 100 MB.
import type { HttpResponse } from 'uWebSockets.js';
import { BlobRangeError, type BlobStore } from '../media/blob-store';
import { MediaCode, MediaError } from '../media/errors';

/** One request in flight: its response, whether the client went away, and how to answer. */
export interface Exchange {
  res: HttpResponse;
  aborted: boolean;
  /** Called once if the client aborts (a waiting write gives up). */
  onAbort: (() => void) | null;
  /** The body was read to its end (or none is expected): a refusal may keep the connection. */
  bodyDone: boolean;
  /** The response's status and first bytes are written: a later failure can only cut the connection. */
  started?: boolean;
  body?: (max: number) => Promise<Buffer>;
}

/** Sets up the bounded body reader; must run in the request's handler call (uWS delivers data only to a reader set then). */
export function readBody(x: Exchange, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let refused = false;
    x.res.onData((chunk, isLast) => {
      if (refused || x.aborted) return;
      size += chunk.byteLength;
      if (size > max) {
        refused = true;
        reject(new MediaError(MediaCode.TOO_LARGE, `the body is limited to ${max} bytes`));
        return;
      }
      parts.push(Buffer.from(new Uint8Array(chunk)));
      if (!isLast) return;
      x.bodyDone = true;
      resolve(Buffer.concat(parts, size));
    });
  });
}

export interface ByteRange {
  start: number;
  end: number;
  /** A Range header was given: the answer is 206 with Content-Range. */
  partial: boolean;
}

/** The requested range of a blob of `size` bytes; the whole blob without a header; a BlobRangeError when unsatisfiable. */
export function parseRange(header: string, size: number): ByteRange | BlobRangeError {
  if (!header) return { start: 0, end: size - 1, partial: false };
  const m = /^bytes=([0-9]{0,15})-([0-9]{0,15})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) {
    throw new MediaError(MediaCode.INVALID_ARGUMENT, 'Range must be one range: bytes=a-b, bytes=a- or bytes=-n');
  }
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return new BlobRangeError(size, size, size);
    return { start: Math.max(0, size - n), end: size - 1, partial: true };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return new BlobRangeError(size, start, m[2] === '' ? size - 1 : Number(m[2]));
  return { start, end, partial: true };
}

/** Streams bytes [start, end] of a blob; resolves with the bytes handed to the socket (fewer if the client went away). */
export async function streamBody(x: Exchange, store: BlobStore, hash: string, size: number, r: ByteRange, stepBytes: number): Promise<number> {
  const total = r.end - r.start + 1;
  let sent = 0;
  for (let pos = r.start; pos <= r.end && !x.aborted;) {
    const stepEnd = Math.min(pos + stepBytes - 1, r.end);
    const bytes = await store.get(hash, pos, stepEnd);
    if (!bytes) throw new MediaError(MediaCode.MEDIA_NOT_FOUND, `media ${hash} was removed while read`);
    if (x.aborted) break;
    x.started = true;
    await writeStep(x, bytes, total, sent === 0 ? head(r, size) : null);
    sent += bytes.length;
    pos = stepEnd + 1;
  }
  return sent;
}

function head(r: ByteRange, size: number): (res: HttpResponse) => void {
  return (res) => {
    res.writeStatus(r.partial ? '206 Partial Content' : '200 OK');
    res.writeHeader('content-type', 'application/octet-stream');
    res.writeHeader('accept-ranges', 'bytes');
    if (r.partial) res.writeHeader('content-range', `bytes ${r.start}-${r.end}/${size}`);
  };
}

/** Hands one step to uWS (the Content-Length is `total`); waits for the socket to take what did not fit. */
function writeStep(x: Exchange, bytes: Buffer, total: number, writeHead: ((res: HttpResponse) => void) | null): Promise<void> {
  return new Promise((resolve) => {
    const res = x.res;
    const base = res.getWriteOffset();
    let ok = false;
    let done = false;
    res.cork(() => {
      writeHead?.(res);
      [ok, done] = res.tryEnd(bytes, total);
    });
    if (ok || done) return resolve();
    x.onAbort = resolve;
    res.onWritable((offset) => {
      if (x.aborted) return true;
      const [ok2, done2] = res.tryEnd(bytes.subarray(offset - base), total);
      if (ok2 || done2) {
        x.onAbort = null;
        resolve();
      }
      return ok2;
    });
  });
}

/** The Content-Range of a 416: the blob's size. */
export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}
