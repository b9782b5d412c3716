// Cutting a run plan into segments, one per worker thread of each shard.
//
// Segments follow k6's execution segments: global iteration n of an
// arrival-rate scenario belongs to segment n mod S (S = shards x workers), so
// the union of every segment's schedule is exactly the unsegmented schedule,
// and merged results equal a single run's. Global VU v belongs to segment
// v mod S. Users are cut into S contiguous slices; a sender's contacts live in
// its own slice, so sender and recipient share one thread and one clock.
import type { RunPlan } from './plan';

export interface Segment {
  /** This segment's index among `count` (shard * workersPerShard + worker). */
  index: number;
  count: number;
  /** Global user indexes [userFirst, userFirst + users). */
  userFirst: number;
  users: number;
}

/** The user slice [first, first + n) of part i of `total` users cut into `parts`. */
export function slice(total: number, parts: number, i: number): { first: number; n: number } {
  const first = Math.floor((total * i) / parts);
  return { first, n: Math.floor((total * (i + 1)) / parts) - first };
}

/** Segments of one shard: its users cut among its workers. */
export function segmentsOf(plan: RunPlan, shard: number, shards: number, workers: number): Segment[] {
  const count = shards * workers;
  const out: Segment[] = [];
  for (let w = 0; w < workers; w++) {
    const index = shard * workers + w;
    const { first, n } = slice(plan.traffic.users, count, index);
    if (n < plan.traffic.contactsPerUser + 1) {
      throw new Error(`${plan.traffic.users} users over ${count} worker segments leaves ${n} users in one, fewer than contactsPerUser + 1 = ` +
        `${plan.traffic.contactsPerUser + 1}: use fewer --workers or shards, or more users`);
    }
    out.push({ index, count, userFirst: first, users: n });
  }
  return out;
}

/** A segment's share of a global count cut by striping (element v goes to segment v mod count): its VUs, its iterations. */
export function stripedShare(total: number, seg: { index: number; count: number }): number {
  return total <= seg.index ? 0 : Math.ceil((total - seg.index) / seg.count);
}
