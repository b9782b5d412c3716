// The store-engines bench's data set: deterministic rows over 2000 chats (bench/store-engines.ts).


export interface Row {
  chatId: string;
  id: number;
  seq: number;
  sender: number;
  clientMsgId: string;
  body: Buffer;
  sentAt: number;
}

export const N_CHATS = 2000;
export const PAGE = 50;
export const ID_BASE = 1_700_000_000_000 * 1024; // ms timestamp << 10: ~1.74e15 < 2^53

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DataSet {
  rows: Row[];
  chatIds: string[];
  idsByChat: Map<string, number[]>; // ascending
}

export function generate(n: number, seed = 42): DataSet {
  const rnd = mulberry32(seed);
  const chatIds: string[] = [];
  for (let c = 0; c < N_CHATS; c++) chatIds.push('chat:' + String(c * 7919 + 100003).padStart(11, '0')); // 16 chars
  const bodies: Buffer[] = [];
  for (let i = 0; i < 256; i++) {
    const b = Buffer.allocUnsafe(100);
    for (let j = 0; j < 100; j++) b[j] = (rnd() * 256) | 0;
    bodies.push(b);
  }
  const seqs = new Map<string, number>();
  const idsByChat = new Map<string, number[]>();
  for (const c of chatIds) idsByChat.set(c, []);
  const rows: Row[] = new Array(n);
  const t0 = 1_760_000_000_000;
  for (let i = 0; i < n; i++) {
    const chatId = chatIds[(rnd() * N_CHATS) | 0];
    const seq = (seqs.get(chatId) ?? 0) + 1;
    seqs.set(chatId, seq);
    const id = ID_BASE + i * 3 + 1; // increasing, sparse (other shards take the gaps)
    idsByChat.get(chatId)!.push(id);
    const rand12 = ((rnd() * 0x1000000) | 0).toString(16).padStart(6, '0') + ((rnd() * 0x1000000) | 0).toString(16).padStart(6, '0');
    rows[i] = {
      chatId,
      id,
      seq,
      sender: 1 + ((rnd() * 1_000_000) | 0),
      clientMsgId: rand12 + i.toString(36).padStart(8, '0'), // 20 chars, unique
      body: bodies[(rnd() * 256) | 0],
      sentAt: t0 + i,
    };
  }
  return { rows, chatIds, idsByChat };
}
