// The users online now: O(1) add, remove and round-robin pick (a dense list
// plus each user's position in it), so picking the next sender costs the same
// with ten or a hundred thousand users online. Also who is online when the
// measured window starts (an even spread of the traffic model's share).
export class OnlineSet {
  private readonly list: Int32Array;
  private readonly pos: Int32Array;
  private count = 0;
  private rr = 0;

  constructor(n: number) {
    this.list = new Int32Array(n);
    this.pos = new Int32Array(n).fill(-1);
  }

  get size(): number {
    return this.count;
  }

  has(u: number): boolean {
    return this.pos[u]! >= 0;
  }

  add(u: number): void {
    if (this.pos[u]! >= 0) return;
    this.pos[u] = this.count;
    this.list[this.count++] = u;
  }

  remove(u: number): void {
    const p = this.pos[u]!;
    if (p < 0) return;
    const last = this.list[--this.count]!;
    this.list[p] = last;
    this.pos[last] = p;
    this.pos[u] = -1;
  }

  /** The next online user, round robin; -1 if nobody is online. */
  next(): number {
    if (this.count === 0) return -1;
    if (this.rr >= this.count) this.rr = 0;
    return this.list[this.rr++]!;
  }

  /** The i-th online user, 0 <= i < size (for sweeps over everyone online). */
  at(i: number): number {
    return this.list[i]!;
  }
}

/** Spread a share over users evenly: user u is picked iff floor((u+1)s) > floor(us). */
export function spreadPick(u: number, share: number): boolean {
  return Math.floor((u + 1) * share + 1e-9) > Math.floor(u * share + 1e-9);
}
