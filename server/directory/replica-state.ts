// The replica's memory: every session of every gateway, indexed by gateway and
// by user. Pure (no I/O, no clock): the replica (replica.ts) feeds it what
// Redis says and it reports each change that actually happened to a sink, once.
//
// Per route lookup (the chat node, per message): one Map get. Per session
// change: two Map operations and one small array splice.
import { invariant } from '../../lib/invariant';

/** A session went up or down on a gateway. */
export interface RouteEvent {
  gateway: string;
  conn: number;
  user: number;
  up: boolean;
}

/** A user's first session came up, or the last one went down (`atMs`: the gateway's clock; last-seen when offline). */
export interface PresenceEvent {
  user: number;
  online: boolean;
  atMs: number;
}

export interface Route {
  readonly gateway: string;
  readonly conn: number;
}

export interface StateSink {
  route(e: RouteEvent): void;
  presence(e: PresenceEvent): void;
}

export class DirectoryState {
  private readonly gateways = new Map<string, Map<number, number>>();
  private readonly byUser = new Map<number, Route[]>();
  private sessionCount = 0;

  constructor(private readonly sink: StateSink) {}

  routesOf(user: number): readonly Route[] | undefined {
    return this.byUser.get(user);
  }

  isOnline(user: number): boolean {
    return this.byUser.has(user);
  }

  knows(gateway: string): boolean {
    return this.gateways.has(gateway);
  }

  gatewayIds(): string[] {
    return [...this.gateways.keys()];
  }

  /** conn -> user of a gateway (a copy: callers diff against it). */
  connsOf(gateway: string): Map<number, number> {
    return new Map(this.gateways.get(gateway) ?? []);
  }

  get sessions(): number {
    return this.sessionCount;
  }

  get onlineUsers(): number {
    return this.byUser.size;
  }

  /** Records that a gateway exists (it may hold no session yet). */
  touch(gateway: string): Map<number, number> {
    let conns = this.gateways.get(gateway);
    if (!conns) this.gateways.set(gateway, (conns = new Map()));
    return conns;
  }

  up(gateway: string, conn: number, user: number, atMs: number): void {
    const conns = this.touch(gateway);
    const had = conns.get(conn);
    if (had === user) return;
    if (had !== undefined) this.down(gateway, conn, atMs);
    conns.set(conn, user);
    this.sessionCount++;
    const routes = this.byUser.get(user);
    if (routes) routes.push({ gateway, conn });
    else this.byUser.set(user, [{ gateway, conn }]);
    this.sink.route({ gateway, conn, user, up: true });
    if (!routes) this.sink.presence({ user, online: true, atMs });
  }

  down(gateway: string, conn: number, atMs: number): void {
    const conns = this.gateways.get(gateway);
    const user = conns?.get(conn);
    if (!conns || user === undefined) return;
    conns.delete(conn);
    this.sessionCount--;
    invariant(this.sessionCount >= 0, 'sessions never go below zero');
    const routes = this.byUser.get(user);
    invariant(routes !== undefined, 'a session in a gateway is in its user\'s routes');
    const i = routes.findIndex((r) => r.conn === conn && r.gateway === gateway);
    invariant(i >= 0, 'a session in a gateway is in its user\'s routes');
    routes.splice(i, 1);
    if (routes.length === 0) this.byUser.delete(user);
    this.sink.route({ gateway, conn, user, up: false });
    if (routes.length === 0) this.sink.presence({ user, online: false, atMs });
  }

  /** Makes a gateway hold exactly `conns`: downs for vanished sessions first, then ups for new ones. */
  replaceGateway(gateway: string, conns: ReadonlyMap<number, number>, atMs: number): void {
    const had = this.touch(gateway);
    for (const [conn, user] of [...had]) {
      if (conns.get(conn) !== user) this.down(gateway, conn, atMs);
    }
    for (const [conn, user] of conns) this.up(gateway, conn, user, atMs);
  }

  /** Every session of the gateway goes down and the gateway is forgotten; false when it was unknown. */
  dropGateway(gateway: string, atMs: number): boolean {
    const conns = this.gateways.get(gateway);
    if (!conns) return false;
    for (const conn of [...conns.keys()]) this.down(gateway, conn, atMs);
    this.gateways.delete(gateway);
    return true;
  }
}
