// Time-ordered message ids.
//
// Layout (a uint64 on the wire, values below 2^53 so a JS number is exact):
//   41 bits  milliseconds since 2025-01-01T00:00:00Z  (69 years of range)
//   10 bits  the chat's partition (server/common/partitions.ts: 1,024 partitions)
//    2 bits  sequence within the millisecond and partition (4 ids/ms = 4,000/s per partition)
// The partition, not the node, makes ids unique: a partition has one owner at a
// time, and a new owner starts above every id already stored (advancePast), so
// any number of chat nodes (up to one per partition: 1,024) mint ids at once.
// A partition that mints more than 4 ids in one millisecond borrows the next
// millisecond, so its ids stay strictly increasing; with chats spread over
// 1,024 partitions a node at 50k messages/s mints ~50 per partition per second,
// far below the borrowing point. A clock that steps backwards never makes ids
// go backwards. Why not 64 full bits: see docs/design/001-message-ids.md.

import { invariant } from '../../lib/invariant';
import { PARTITION_BITS, PARTITIONS } from './partitions';

export const ID_EPOCH_MS = Date.UTC(2025, 0, 1);
const SEQ_BITS = 2;
const SEQ_MAX = (1 << SEQ_BITS) - 1;
/** Ids one partition may mint per millisecond before it borrows the next one. */
const SEQ_IDS = 1 << SEQ_BITS;
/** The same, for the capacity model's check of the peak against the id layout. */
export const IDS_PER_MS_PER_PARTITION = SEQ_IDS;
const MS_SHIFT = 2 ** (PARTITION_BITS + SEQ_BITS);
/** The highest lane (partition) number an id can carry. */
export const ID_LANE_MAX = PARTITIONS - 1;

/** Mints the ids of one partition (one "lane" of the id space). */
export class IdGenerator {
  private lastMs = 0;
  private seq = 0;
  private lastId = 0;

  constructor(
    private readonly lane: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(lane) || lane < 0 || lane > ID_LANE_MAX) {
      throw new Error(`id lane (partition) ${lane} out of range 0..${ID_LANE_MAX}`);
    }
  }

  /** Never returns an id <= one it returned before, nor one below an advancePast floor. */
  next(): number {
    const ms = this.now() - ID_EPOCH_MS;
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.seq = 0;
    } else if (this.seq < SEQ_MAX) {
      this.seq++;
    } else {
      this.lastMs++;
      this.seq = 0;
    }
    const id = this.lastMs * MS_SHIFT + this.lane * SEQ_IDS + this.seq;
    invariant(id > this.lastId, 'ids strictly increase per partition');
    this.lastId = id;
    return id;
  }

  /** After a restart or a takeover: never mint an id at or below one already stored. */
  advancePast(id: number): void {
    const ms = Math.floor(id / MS_SHIFT);
    if (ms >= this.lastMs) {
      this.lastMs = ms;
      this.seq = SEQ_MAX; // the next id moves to a later millisecond
    }
  }
}

/** One generator per partition, made on first use; a floor applies to those made later too. */
export class PartitionIds {
  private readonly lanes: (IdGenerator | undefined)[] = new Array(PARTITIONS);
  private floor = 0;

  constructor(private readonly now: () => number = Date.now) {}

  next(partition: number): number {
    let gen = this.lanes[partition];
    if (!gen) {
      gen = this.lanes[partition] = new IdGenerator(partition, this.now);
      if (this.floor > 0) gen.advancePast(this.floor);
    }
    return gen.next();
  }

  /** Every partition's next id is above `id` (a new owner calls it with the store's highest id). */
  advancePast(id: number): void {
    if (id > this.floor) this.floor = id;
    for (const gen of this.lanes) gen?.advancePast(id);
  }
}

/** Wall-clock milliseconds (Unix epoch) at which an id was minted (borrowed milliseconds included). */
export function idTimeMs(id: number): number {
  return Math.floor(id / MS_SHIFT) + ID_EPOCH_MS;
}

/** The partition (lane) that minted an id. */
export function laneOfId(id: number): number {
  return Math.floor(id / SEQ_IDS) % PARTITIONS;
}

/** The smallest id that could be minted at wall-clock time `ms`. */
export function idFloorForTime(ms: number): number {
  return Math.max(0, ms - ID_EPOCH_MS) * MS_SHIFT;
}

/** Registered users get ids 1, 2, 3, ...; load-test users (minted tokens, bulk provisioning) start here. */
export const PROVISIONED_USER_ID_MIN = 1_000_000_000;
