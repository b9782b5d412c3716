// The lean client's send path. Frames are written straight into regions of
// shared slabs, masked while copying, so a send allocates nothing; every
// frame a connection queues in one event-loop turn leaves in one
// socket.write. One FrameWriter per connection holds its region of the turn.
import type * as net from 'node:net';
import { randomFillSync } from 'node:crypto';
import { TurnBatcher } from '../../lib/turn-batcher';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------
// Mask keys: one randomFillSync per MASK_POOL_BYTES / 4 frames instead of a
// crypto call per frame. Keys stay unpredictable (CSPRNG), which is what the
// RFC asks for (it protects intermediaries from cache poisoning).
const MASK_POOL_BYTES = 64 * 1024;
const maskPool = Buffer.allocUnsafeSlow(MASK_POOL_BYTES);
let maskPoolOffset = MASK_POOL_BYTES;

// ---------------------------------------------------------------------------
// Outgoing frames are written straight into regions of a shared slab (masked
// while copying), so a send allocates nothing. A connection owns one region per
// event-loop turn; the flush hands region bytes to socket.write and never
// touches them again (the socket keeps a reference until the kernel has them),
// and gives the unused tail back to the slab when it was the last region.
// Each slab has an Int32Array view so masking XORs 32-bit words.
// Slab size trade-off: a write still queued in a stalled socket pins its whole
// slab, so slabs stay small (64 KiB); at 30 MB/s of frames that is still only
// ~500 slab allocations per second.
const SEND_SLAB_BYTES = 64 * 1024;
/** Regions larger than this get a slab of their own rather than wasting the shared one. */
const DEDICATED_REGION_BYTES = SEND_SLAB_BYTES / 4;
const MIN_REGION_BYTES = 256;
/** Cap on the region size a connection pre-reserves based on its previous turn. */
const REGION_HINT_BYTES_MAX = DEDICATED_REGION_BYTES;
/** Payloads shorter than this are masked with a plain byte loop (set() + word setup would cost more). */
const WORD_MASK_MIN_BYTES = 32;

class SendSlab {
  readonly bytes: Buffer;
  readonly words: Int32Array;
  readonly sizeBytes: number;
  usedBytes = 0;
  constructor(sizeBytes: number) {
    this.sizeBytes = sizeBytes;
    // allocUnsafeSlow: own ArrayBuffer at byteOffset 0, so byte offset >> 2 is the word index.
    this.bytes = Buffer.allocUnsafeSlow(sizeBytes);
    this.words = new Int32Array(this.bytes.buffer, 0, sizeBytes >>> 2);
  }
}

let sharedSlab: SendSlab | null = null;

function align8(n: number): number {
  return (n + 7) & ~7;
}

// One nextTick flushes every connection that queued frames this turn: ticks
// run right after the current I/O callback, so frames sent while handling one
// TCP chunk leave in one write, with no added latency.
const flushQueue = new TurnBatcher<FrameWriter>((queue) => {
  for (let i = 0; i < queue.length; i++) queue[i].flush();
}, process.nextTick);

export class FrameWriter {
  // This turn's region [start, end) of `slab`, writable up to `limit`.
  private slab: SendSlab | null = null;
  private start = 0;
  private end = 0;
  private limit = 0;
  private regionHintBytes = MIN_REGION_BYTES;
  private endAfterFlush = false;

  constructor(private readonly socket: net.Socket) {}

  /** Bytes queued this turn, not yet handed to the socket. */
  get queuedBytes(): number {
    return this.slab === null ? 0 : this.end - this.start;
  }

  /** End TCP once what is queued has left (at once if nothing is): the connection failed, our close frame is the last word. */
  endAfterQueued(): void {
    this.endAfterFlush = true;
    if (this.slab === null) this.socket.end(); // our close frame already left in an earlier turn
  }

  /** Queues one frame (FIN set: we never fragment what we send); it leaves with this turn's write. */
  write(opcode: number, payload: Uint8Array): void {
    const payloadBytes = payload.length;
    const headerBytes = payloadBytes < 126 ? 6 : payloadBytes < 65536 ? 8 : 14; // incl. 4-byte mask key
    this.reserveOut(headerBytes + payloadBytes);
    const slab = this.slab as SendSlab;
    const out = slab.bytes;
    let at = this.end;
    out[at] = 0x80 | opcode; // FIN: we never fragment what we send
    if (payloadBytes < 126) {
      out[at + 1] = 0x80 | payloadBytes;
      at += 2;
    } else if (payloadBytes < 65536) {
      out[at + 1] = 0x80 | 126;
      out[at + 2] = payloadBytes >>> 8;
      out[at + 3] = payloadBytes & 0xff;
      at += 4;
    } else {
      out[at + 1] = 0x80 | 127;
      out.writeUInt32BE(Math.floor(payloadBytes / 0x100000000), at + 2);
      out.writeUInt32BE(payloadBytes >>> 0, at + 6);
      at += 10;
    }
    if (maskPoolOffset === MASK_POOL_BYTES) {
      randomFillSync(maskPool);
      maskPoolOffset = 0;
    }
    const keyAt = at;
    out[at] = maskPool[maskPoolOffset];
    out[at + 1] = maskPool[maskPoolOffset + 1];
    out[at + 2] = maskPool[maskPoolOffset + 2];
    out[at + 3] = maskPool[maskPoolOffset + 3];
    maskPoolOffset += 4;
    at += 4;
    maskInto(payload, slab, at, keyAt);
    this.end = at + payloadBytes;
  }

  /** Makes room for `frameBytes` more bytes in this turn's region, taking a new region on the first frame of a turn. */
  private reserveOut(frameBytes: number): void {
    const slab = this.slab;
    if (slab === null) {
      this.takeRegion(Math.max(frameBytes, this.regionHintBytes));
      flushQueue.push(this);
      return;
    }
    if (this.end + frameBytes <= this.limit) return;
    const usedBytes = this.end - this.start;
    const wantedBytes = 2 * (usedBytes + frameBytes);
    // Our region is the slab's last one: grow it in place.
    if (slab.usedBytes === this.limit) {
      const newLimit = Math.min(slab.sizeBytes, align8(this.start + wantedBytes));
      if (newLimit >= this.end + frameBytes && wantedBytes <= DEDICATED_REGION_BYTES) {
        slab.usedBytes = this.limit = newLimit;
        return;
      }
    }
    // Otherwise move what we have to a bigger region (amortized by doubling).
    const oldStart = this.start;
    const oldLimit = this.limit;
    this.takeRegion(wantedBytes);
    slab.bytes.copy((this.slab as SendSlab).bytes, this.start, oldStart, oldStart + usedBytes);
    this.end = this.start + usedBytes;
    if (slab.usedBytes === oldLimit) slab.usedBytes = oldStart; // the old region was last in its slab: give it back
  }

  private takeRegion(minBytes: number): void {
    const regionBytes = align8(minBytes);
    let slab: SendSlab;
    if (regionBytes > DEDICATED_REGION_BYTES) {
      slab = new SendSlab(regionBytes);
    } else {
      slab = sharedSlab ?? (sharedSlab = new SendSlab(SEND_SLAB_BYTES));
      if (slab.usedBytes + regionBytes > slab.sizeBytes) slab = sharedSlab = new SendSlab(SEND_SLAB_BYTES);
    }
    this.slab = slab;
    this.start = this.end = slab.usedBytes;
    this.limit = slab.usedBytes = slab.usedBytes + regionBytes;
  }

  /** Gives the unused tail of this turn's region back to its slab, when it is the slab's last region (at each flush, and when the connection closes). */
  releaseRegion(): void {
    const slab = this.slab;
    if (slab === null) return;
    if (slab.usedBytes === this.limit) slab.usedBytes = align8(this.end);
    this.slab = null;
  }

  /** Called by the per-turn flush: one socket.write for every frame queued this turn. */
  flush(): void {
    const slab = this.slab;
    if (slab === null) return;
    const start = this.start;
    const end = this.end;
    this.releaseRegion();
    const turnBytes = end - start;
    this.regionHintBytes = turnBytes < MIN_REGION_BYTES ? MIN_REGION_BYTES : turnBytes > REGION_HINT_BYTES_MAX ? REGION_HINT_BYTES_MAX : turnBytes;
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) return;
    if (turnBytes > 0) socket.write(slab.bytes.subarray(start, end));
    if (this.endAfterFlush) socket.end();
  }
}

/**
 * Copies `src` into `slab` at `at`, XORed with the 4-byte key stored at `keyAt`.
 * Short payloads use a byte loop; longer ones are copied with set() (memcpy)
 * and XORed in place a 32-bit word at a time over the aligned middle.
 */
function maskInto(src: Uint8Array, slab: SendSlab, at: number, keyAt: number): void {
  const out = slab.bytes;
  const n = src.length;
  if (n < WORD_MASK_MIN_BYTES) {
    for (let i = 0; i < n; i++) out[at + i] = src[i] ^ out[keyAt + (i & 3)];
    return;
  }
  out.set(src, at);
  const end = at + n;
  let i = at;
  for (; (i & 3) !== 0; i++) out[i] ^= out[keyAt + ((i - at) & 3)];
  // Key bytes as they line up with the first aligned word.
  const phase = i - at;
  const k0 = out[keyAt + (phase & 3)];
  const k1 = out[keyAt + ((phase + 1) & 3)];
  const k2 = out[keyAt + ((phase + 2) & 3)];
  const k3 = out[keyAt + ((phase + 3) & 3)];
  const maskWord = LITTLE_ENDIAN ? k0 | (k1 << 8) | (k2 << 16) | (k3 << 24) : (k0 << 24) | (k1 << 16) | (k2 << 8) | k3;
  const words = slab.words;
  const wordEnd = end >>> 2;
  for (let w = i >>> 2; w < wordEnd; w++) words[w] ^= maskWord;
  for (i = wordEnd << 2; i < end; i++) out[i] ^= out[keyAt + ((i - at) & 3)];
}
