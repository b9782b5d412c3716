// The route registry: which gateway connection holds which user, and who
// watches whose presence. In the embedded default this lives in the chat
// service's memory (gateways announce every connect and disconnect over their
// stream and re-announce all sessions after a chat-service restart).
//
// Bounded: connections are bounded by the gateways' file-descriptor limits;
// a connection watches at most presence_watch_max users.

/** A gateway's stream, as the routing layer sees it. */
export interface GatewayLinkRef {
  readonly id: string;
}

export interface ConnState<L extends GatewayLinkRef = GatewayLinkRef> {
  readonly link: L;
  readonly conn: number;
  readonly user: number;
  /** Users this connection watches for presence. */
  watching: readonly number[];
}

export class RouteRegistry<L extends GatewayLinkRef> {
  private readonly byUser = new Map<number, ConnState<L>[]>();
  private readonly byLink = new Map<L, Map<number, ConnState<L>>>();
  private readonly watchers = new Map<number, Set<ConnState<L>>>();

  /** Returns the new state and whether the user just came online. */
  add(link: L, conn: number, user: number): { state: ConnState<L>; cameOnline: boolean } {
    let conns = this.byLink.get(link);
    if (!conns) this.byLink.set(link, (conns = new Map()));
    const existing = conns.get(conn);
    if (existing) return { state: existing, cameOnline: false };
    const state: ConnState<L> = { link, conn, user, watching: [] };
    conns.set(conn, state);
    const list = this.byUser.get(user);
    if (list) {
      list.push(state);
      return { state, cameOnline: false };
    }
    this.byUser.set(user, [state]);
    return { state, cameOnline: true };
  }

  /** Returns the removed state (if any) and whether the user went offline. */
  remove(link: L, conn: number): { state: ConnState<L> | null; wentOffline: boolean } {
    const conns = this.byLink.get(link);
    const state = conns?.get(conn);
    if (!conns || !state) return { state: null, wentOffline: false };
    conns.delete(conn);
    this.setWatching(state, []);
    const list = this.byUser.get(state.user)!;
    const i = list.indexOf(state);
    if (i >= 0) list.splice(i, 1);
    if (list.length > 0) return { state, wentOffline: false };
    this.byUser.delete(state.user);
    return { state, wentOffline: true };
  }

  /** Every connection a gateway link held (to drop them when the link dies). */
  connsOf(link: L): ConnState<L>[] {
    return [...(this.byLink.get(link)?.values() ?? [])];
  }

  dropLink(link: L): void {
    this.byLink.delete(link);
  }

  conn(link: L, conn: number): ConnState<L> | undefined {
    return this.byLink.get(link)?.get(conn);
  }

  connsOfUser(user: number): readonly ConnState<L>[] | undefined {
    return this.byUser.get(user);
  }

  isOnline(user: number): boolean {
    return this.byUser.has(user);
  }

  setWatching(state: ConnState<L>, users: readonly number[]): void {
    for (const u of state.watching) {
      const set = this.watchers.get(u);
      if (!set) continue;
      set.delete(state);
      if (set.size === 0) this.watchers.delete(u);
    }
    state.watching = users;
    for (const u of users) {
      let set = this.watchers.get(u);
      if (!set) this.watchers.set(u, (set = new Set()));
      set.add(state);
    }
  }

  /** Each online user's newest connection (a drain goes to one connection per user). */
  *latestConnOfEachUser(): IterableIterator<ConnState<L>> {
    for (const list of this.byUser.values()) if (list.length > 0) yield list[list.length - 1]!;
  }

  watchersOf(user: number): ReadonlySet<ConnState<L>> | undefined {
    return this.watchers.get(user);
  }

  get onlineUsers(): number {
    return this.byUser.size;
  }
}
