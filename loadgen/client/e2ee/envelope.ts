// The body of an end-to-end encrypted message as the server stores and relays
// it: opaque bytes to the server, a list of per-device ciphertexts to clients.
// One stored message reaches every connection of the recipient (the server
// fans out per user, not per device), so the body carries one ciphertext per
// recipient device and each device opens its own.
//
//   magic 0xE2, version 1, sender device (1 byte), entries (1 byte), then per entry:
//   recipient device (1 byte), libsignal ciphertext type (1 byte), length (4 bytes, BE), ciphertext
//
// A group message has one entry, GROUP_ENTRY, readable by every member holding the sender's key.
//
// Overhead over the ciphertexts: 4 + 6 per device (bench/e2ee.ts measures the total against the plaintext).
import type { Ciphertext } from './device';

const MAGIC = 0xe2;
const VERSION = 1;
/** The entry of a group message: one sender-key ciphertext for every member device (device ids start at 1). */
export const GROUP_ENTRY = 0;
/** Devices per envelope: libsignal's device ids are one byte (1..127). */
const ENTRIES_MAX = 127;

export interface Envelope {
  senderDevice: number;
  entries: Map<number, Ciphertext>;
}

export function encodeEnvelope(senderDevice: number, entries: ReadonlyMap<number, Ciphertext>): Uint8Array {
  if (entries.size === 0 || entries.size > ENTRIES_MAX) throw new Error(`envelope: 1..${ENTRIES_MAX} devices, got ${entries.size}`);
  let size = 4;
  for (const c of entries.values()) size += 6 + c.bytes.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = MAGIC;
  out[1] = VERSION;
  out[2] = senderDevice;
  out[3] = entries.size;
  let at = 4;
  for (const [device, c] of entries) {
    out[at] = device;
    out[at + 1] = c.type;
    out.writeUInt32BE(c.bytes.length, at + 2);
    out.set(c.bytes, at + 6);
    at += 6 + c.bytes.length;
  }
  return out;
}

/** The envelope of a body; throws on anything that is not one (a client never trusts what the server relays). */
export function decodeEnvelope(body: Uint8Array): Envelope {
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (b.length < 4 || b[0] !== MAGIC || b[1] !== VERSION) throw new Error('envelope: not an e2ee body');
  const entries = new Map<number, Ciphertext>();
  let at = 4;
  for (let i = 0; i < b[3]!; i++) {
    if (at + 6 > b.length) throw new Error('envelope: truncated entry');
    const len = b.readUInt32BE(at + 2);
    if (at + 6 + len > b.length) throw new Error('envelope: truncated ciphertext');
    entries.set(b[at]!, { type: b[at + 1]!, bytes: b.subarray(at + 6, at + 6 + len) });
    at += 6 + len;
  }
  if (at !== b.length) throw new Error('envelope: trailing bytes');
  return { senderDevice: b[2]!, entries };
}
