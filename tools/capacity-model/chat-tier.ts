// What the code makes true of the chat tier, for the fleet projection: how
// chats map to nodes (server/common/partitions.ts), the most chat nodes the id
// layout lets own partitions, how unevenly rendezvous hashing spreads the
// partitions over N nodes, and the CPU per message on a multi-node tier (the
// single-node figure over the measured coordination ratio).
//
// Envelope: the spread is computed, not sampled: 1,024 partitions x N node
// weights (N <= 1,024: at most ~1M FNV-1a + murmur finaliser rounds, ~50 ms).
import { IDS_PER_MS_PER_PARTITION } from '../../server/common/ids';
import { PARTITION_BITS, PARTITIONS, rendezvousOwner } from '../../server/common/partitions';
import type { MeasuredFigure } from './measured';

/** The most chat nodes that can own a partition: one partition each (message ids carry the partition). */
export const CHAT_NODES_MAX = PARTITIONS;

export const CHAT_OWNERSHIP_NOTE =
  `Chats hash to ${PARTITIONS.toLocaleString('en')} partitions (server/common/partitions.ts); each partition is owned by one chat node ` +
  'at a time (an etcd lease + rendezvous hashing, server/cluster/). A dead node\'s partitions move to the others after its lease ' +
  'runs out (WA_CLUSTER_LEASE_SECONDS, 2 s by default), so the survivors carry its load: the same headroom as gateways.';

/** The sentence the output prints when a chat count is more than the code can run, or null. */
export function overPartitionLimit(what: string, nodes: number | null): string | null {
  if (nodes === null || nodes <= CHAT_NODES_MAX) return null;
  return `${what} needs ${nodes.toLocaleString('en')} chat nodes; the code cannot run that many: message ids carry the partition in ` +
    `${PARTITION_BITS} bits (server/common/ids.ts), so at most ${CHAT_NODES_MAX.toLocaleString('en')} chat nodes own partitions and ` +
    'any more would own none. A wider partition field (and more partitions, a new keyspace) would be needed.';
}

/** Ids a partition mints per second before it borrows later milliseconds (server/common/ids.ts). */
export const IDS_PER_S_PER_PARTITION = IDS_PER_MS_PER_PARTITION * 1000;

/** The peak's message ids per partition against what the id layout mints without running ahead of the clock. */
export function idRateNote(sendsPerSPeak: number): string {
  const perPartition = sendsPerSPeak / PARTITIONS;
  const share = perPartition / IDS_PER_S_PER_PARTITION;
  const head = `Message ids: one per send, ${Math.round(perPartition).toLocaleString('en')}/s per partition at the peak (mean over ` +
    `${PARTITIONS.toLocaleString('en')}) against ${IDS_PER_S_PER_PARTITION.toLocaleString('en')}/s a partition mints before it borrows later ` +
    `milliseconds (server/common/ids.ts: 2 sequence bits)`;
  return share <= 1
    ? `${head}: ${(share * 100).toFixed(0)}% of it.`
    : `${head}: ${share.toFixed(2)}x it, so ids would run ahead of the clock for as long as the peak lasts; more partition or sequence bits would be needed.`;
}

export interface PartitionSpread {
  nodes: number;
  /** Partitions the busiest node owns. */
  partitions_max: number;
  partitions_mean: number;
  /** partitions_max / partitions_mean: the busiest node's load over the mean, if load follows partitions. */
  busiest_over_mean: number;
}

/**
 * How rendezvous hashing spreads the partitions over `nodes` nodes named as the
 * topology names them (chat-0 .. chat-N-1). Null past CHAT_NODES_MAX.
 */
export function partitionSpread(nodes: number): PartitionSpread | null {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > CHAT_NODES_MAX) return null;
  const names = Array.from({ length: nodes }, (_, i) => `chat-${i}`);
  const owned = new Map<string, number>();
  for (let p = 0; p < PARTITIONS; p++) {
    const owner = rendezvousOwner(p, names)!;
    owned.set(owner, (owned.get(owner) ?? 0) + 1);
  }
  const partitions_max = Math.max(...owned.values());
  const partitions_mean = PARTITIONS / nodes;
  return { nodes, partitions_max, partitions_mean, busiest_over_mean: partitions_max / partitions_mean };
}

export function spreadNote(s: PartitionSpread, utilisation: number): string {
  return `Rendezvous hashing over ${s.nodes.toLocaleString('en')} nodes (named chat-0..chat-${s.nodes - 1}) gives the busiest node ` +
    `${s.partitions_max} partitions against a mean of ${s.partitions_mean.toFixed(1)} (${s.busiest_over_mean.toFixed(2)}x). The count above ` +
    `assumes an even spread; if load follows partitions, the busiest node runs at ${(s.busiest_over_mean * utilisation * 100).toFixed(0)}% ` +
    'of its measured capacity at peak.';
}

export interface ChatCpuPerMsg {
  /** Chat-node CPU per message on a multi-node tier; null when the coordination ratio is not measured. */
  us_per_msg: number | null;
  note: string;
}

/** The single-node CPU per message divided by the coordination ratio (1 node / N nodes). */
export function chatCpuPerMsg(singleNode: MeasuredFigure, ratio: MeasuredFigure | undefined): ChatCpuPerMsg {
  if (!ratio) {
    return {
      us_per_msg: null,
      note: `single-node ${singleNode.value.toFixed(1)} us per message; the coordination cost of N chat nodes is not measured ` +
        '(bench/coordination.ts --json, or --assume chat_coordination_ratio=...), so the multi-node CPU per message is not measured',
    };
  }
  const us = singleNode.value / ratio.value;
  return {
    us_per_msg: us,
    note: `single-node ${singleNode.value.toFixed(1)} us per message / coordination ratio ${ratio.value.toFixed(2)} ` +
      `(${ratio.basis}, ${ratio.source}) = ${us.toFixed(1)} us per message on N nodes; the ratio was taken at the bench's N ` +
      'and is assumed to hold at the fleet\'s N',
  };
}
