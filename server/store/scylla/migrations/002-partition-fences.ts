// Migration 2: partition fencing (server/store/scylla/fences.ts, docs/design/005-scylla-store.md).
// One row per partition of the chat tier (1,024) holding the highest fencing token a chat node has
// claimed it with. All rows share one CQL partition (fence_group 0): a claim of many partitions is
// one Paxos round per chunk (a conditional batch must stay inside one CQL partition), and a
// commit's check of the partitions it touches is one single-partition read (`partition IN ?`).
// fence_group exists so a later migration can spread the rows over several CQL partitions if that
// one partition's read rate (every commit of every chat node) ever needs it.
import type { Migration } from './migration';

export const partitionFences: Migration = {
  version: 2,
  name: 'partition-fences',
  statements: [
    `CREATE TABLE IF NOT EXISTS partition_fences (
       fence_group int, partition int, fence_token bigint,
       PRIMARY KEY (fence_group, partition))`,
  ],
};
