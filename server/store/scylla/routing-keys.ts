// Partition keys: the time bucket of a message id (part of a messages
// partition's key), and keys serialized as the protocol does.
import { idTimeMs, ID_EPOCH_MS } from '../../common/ids';

/** The bucket of a message id: milliseconds since the id epoch / bucket width. */
export function bucketOfId(id: number, bucketMs: number): number {
  return Math.floor((idTimeMs(Math.max(0, id)) - ID_EPOCH_MS) / bucketMs);
}

// Partition keys serialized as the protocol does, for token-aware routing of batches (the driver computes
// them itself for single prepared statements, but a batch is routed by the key it is given). The test
// checks them against the server's token().

export const routingKeys = { text: kText, long: kLong, int: kInt, composite: kComposite };

export function kText(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}
export function kLong(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(Math.floor(n / 0x1_0000_0000) >>> 0, 0);
  b.writeUInt32BE(n >>> 0, 4);
  return b;
}
export function kInt(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
}
/** A composite partition key: each component as [u16 length][bytes][0]. */
export function kComposite(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length + b.length + 6);
  out.writeUInt16BE(a.length, 0);
  a.copy(out, 2);
  out[2 + a.length] = 0;
  out.writeUInt16BE(b.length, 3 + a.length);
  b.copy(out, 5 + a.length);
  out[5 + a.length + b.length] = 0;
  return out;
}
