// The load generator's message body: a fixed header the recipient side reads
// back, then padding up to the traffic model's message size. The target never
// looks inside (for the real system it is opaque ciphertext). Workloads
// write it, the world reads it back, the plan bounds messageBytes by it.
//
//   [0..8)   f64  scheduled send time, worker clock (performance.now() ms)
//   [8..12)  u32  stream: sender * contactsPerUser + contact index (worker-local)
//   [12..16) u32  number within the stream, 1, 2, 3, ...
//   [16..20) u32  pending slot of the sending iteration (so a recipient can end it)
//   [20]     u8   scenario index
//   [21]     u8   flags: HEADER_FLAG_GROUP when stream is a group stream (group * 256 + sender position),
//                  HEADER_FLAG_MEDIA when a media reference follows the header (1:1 only, loadgen/world/media-sends.ts)
export const PAYLOAD_HEADER_BYTES = 22;
export const HEADER_FLAG_GROUP = 1;
export const HEADER_FLAG_MEDIA = 2;

export interface PayloadHeader {
  scheduledMs: number;
  stream: number;
  number: number;
  slot: number;
  scenario: number;
  flags: number;
}

export function writeHeader(buf: Buffer, scheduledMs: number, stream: number, number: number, slot: number, scenario: number): void {
  buf.writeDoubleLE(scheduledMs, 0);
  buf.writeUInt32LE(stream, 8);
  buf.writeUInt32LE(number, 12);
  buf.writeUInt32LE(slot, 16);
  buf[20] = scenario;
  buf[21] = 0;
}

/** Reads into `out` (reused, no allocation); false when the body is not one of ours. */
export function readHeader(body: Uint8Array, out: PayloadHeader): boolean {
  if (body.length < PAYLOAD_HEADER_BYTES) return false;
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length);
  out.scheduledMs = b.readDoubleLE(0);
  out.stream = b.readUInt32LE(8);
  out.number = b.readUInt32LE(12);
  out.slot = b.readUInt32LE(16);
  out.scenario = b[20]!;
  out.flags = b[21]!;
  return true;
}
