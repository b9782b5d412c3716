// Chats are hashed to a fixed number of partitions; each partition has exactly
// one owner (a chat node) at a time (server/cluster/). The number is fixed for
// the life of a deployment: it is part of every message id (server/common/ids.ts)
// and of the store's fencing rows, so changing it means a new keyspace.
//
// Rendezvous (highest-random-weight) hashing assigns partitions to the live
// nodes: when a node joins or leaves, only the partitions it wins or held move
// (about 1/M of them), and every node computes the same answer from the same
// member list without talking to the others.

/** Partitions in a deployment (2^10: message ids carry the partition in 10 bits). */
export const PARTITION_BITS = 10;
export const PARTITIONS = 1 << PARTITION_BITS;

/** FNV-1a over the UTF-16 code units (chat ids are ASCII): fast, stable across processes and versions. */
export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A key's partition by hash (1:1 chats; server/common/chat-id.ts: partitionOf covers every chat id). */
export function hashPartition(key: string): number {
  return fnv1a(key) & (PARTITIONS - 1);
}

/**
 * Work keyed by a user rather than a chat (presence subscriptions, group
 * creation) goes to the owner of the user's own partition.
 */
export function partitionOfUser(user: number): number {
  return hashPartition(`u.${user}`);
}

/** A 32-bit mix of (partition, node name): the rendezvous weight. */
function weight(partition: number, node: string): number {
  let h = fnv1a(node) ^ Math.imul(partition + 1, 0x9e3779b1);
  // murmur3's finaliser: spreads nearby partitions over the whole range.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The node that should own a partition among `nodes` (null when there are none). Ties go to the smaller name. */
export function rendezvousOwner(partition: number, nodes: readonly string[]): string | null {
  let best: string | null = null;
  let bestWeight = -1;
  for (const node of nodes) {
    const w = weight(partition, node);
    if (w > bestWeight || (w === bestWeight && best !== null && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}

/** Every partition `node` should own among `nodes`. */
export function partitionsOf(node: string, nodes: readonly string[]): number[] {
  const out: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) if (rendezvousOwner(p, nodes) === node) out.push(p);
  return out;
}
