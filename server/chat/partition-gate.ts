// What the engine asks of the cluster (server/cluster via grpc-server.ts) when
// it runs as one of several chat nodes: does this node serve a partition right
// now, and under which fencing token. The single-process default has no gate:
// it serves everything and commits without fences.
import { partitionOf } from '../common/chat-id';
import type { CommitBatch, PartitionFence } from '../store/store';

export interface PartitionGate {
  serves(partition: number): boolean;
  /** The fencing token this node claimed the partition with (0: not served). */
  token(partition: number): number;
  /** The store refused a commit under our token: another node owns the partition now. */
  fenced(partition: number): void;
}

/** The fences of every partition a batch writes to. */
export function fencesOf(batch: CommitBatch, gate: PartitionGate): PartitionFence[] {
  const parts = new Set<number>();
  for (const c of batch.new_chats) parts.add(partitionOf(c.chat_id));
  let last = '';
  for (const m of batch.messages) {
    if (m.chat_id === last) continue;
    last = m.chat_id;
    parts.add(partitionOf(m.chat_id));
  }
  for (const w of batch.watermarks) parts.add(partitionOf(w.chat_id));
  for (const c of batch.member_changes) parts.add(partitionOf(c.chat_id));
  for (const r of batch.chat_renames) parts.add(partitionOf(r.chat_id));
  return [...parts].map((partition) => ({ partition, token: gate.token(partition) }));
}
