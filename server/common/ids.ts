// Time-ordered message ids.
//
// Layout (a uint64 on the wire, values below 2^53 so a JS number is exact):
//   41 bits  milliseconds since 2025-01-01T00:00:00Z  (69 years of range)
//    4 bits  node id (16 chat-service nodes may mint ids at once)
//    8 bits  sequence within the millisecond (256/ms = 256k ids/s per node)
// When a node mints more than 256 ids in one millisecond it borrows the next
// millisecond, so ids stay strictly increasing; the clock catches up at once
// under any load a node can actually persist. A clock that steps backwards
// never makes ids go backwards. Why not 64 full bits: see
// docs/design/001-message-ids.md.

import { invariant } from '../../lib/invariant';

export const ID_EPOCH_MS = Date.UTC(2025, 0, 1);
const NODE_BITS = 4;
const SEQ_BITS = 8;
const SEQ_MAX = (1 << SEQ_BITS) - 1;
export const NODE_ID_MAX = (1 << NODE_BITS) - 1;
const MS_SHIFT = 2 ** (NODE_BITS + SEQ_BITS);
/** Ids one node may mint per millisecond (2^sequence bits). */
const SEQ_IDS = 1 << SEQ_BITS;
/** Nodes that may mint ids at once (2^node bits). */
const NODES = 1 << NODE_BITS;

export class IdGenerator {
  private lastMs = 0;
  private seq = 0;
  private lastId = 0;

  constructor(
    private readonly nodeId: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > NODE_ID_MAX) {
      throw new Error(`node id ${nodeId} out of range 0..${NODE_ID_MAX}`);
    }
  }

  /** Never returns an id <= one it returned before, nor one below `floor`. */
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
    const id = this.lastMs * MS_SHIFT + this.nodeId * (1 << SEQ_BITS) + this.seq;
    invariant(id > this.lastId, 'ids strictly increase per node');
    this.lastId = id;
    return id;
  }

  /** After a restart: never mint an id at or below one already stored. */
  advancePast(id: number): void {
    const ms = Math.floor(id / MS_SHIFT);
    if (ms >= this.lastMs) {
      this.lastMs = ms;
      this.seq = SEQ_MAX; // the next id moves to a later millisecond
    }
  }
}

/** Wall-clock milliseconds (Unix epoch) at which an id was minted. */
export function idTimeMs(id: number): number {
  return Math.floor(id / MS_SHIFT) + ID_EPOCH_MS;
}

/** The node that minted an id: id / 2^(sequence bits), modulo 2^(node bits). */
export function nodeOfId(id: number): number {
  return Math.floor(id / SEQ_IDS) % NODES;
}

/** The smallest id that could be minted at wall-clock time `ms`. */
export function idFloorForTime(ms: number): number {
  return Math.max(0, ms - ID_EPOCH_MS) * MS_SHIFT;
}

/** Registered users get ids 1, 2, 3, ...; load-test users (minted tokens, bulk provisioning) start here. */
export const PROVISIONED_USER_ID_MIN = 1_000_000_000;
