// Between the driver's cells and the store's values: bigints as JS numbers,
// bodies as Buffers, a messages row as a StoredMessage.
import { types } from 'cassandra-driver';
import { type StoredMessage } from '../store';

type Long = types.Long;
export type Row = types.Row;

/** A bigint cell as a JS number (ours are < 2^53, docs/design/001-message-ids.md); null -> 0. */
export function num(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  return (v as Long).toNumber();
}

export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export function toMessage(chatId: string, row: Row): StoredMessage {
  return {
    id: num(row.id), chat_id: chatId, seq: num(row.seq), sender: num(row.sender), client_msg_id: row.client_msg_id as string,
    body: (row.body as Buffer | null) ?? Buffer.alloc(0), sent_at_ms: num(row.sent_at_ms), kind: row.kind as number,
  };
}
