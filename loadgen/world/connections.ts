// One connection per user of the world: each user's state (offline,
// connecting, online), its connection while it has one, the online set, the
// active set (online, or lost by the target and coming back by itself: a
// phone whose app is open; its sends wait in its outbox meanwhile), and
// the routing of every connection's events to the world (each tagged with the
// user, and dropped once that connection is no longer the user's current one).
// During setup a connect counts as done when the target's DrainDone arrives:
// waitDrainDone() lets setup wait for it.
import type { ConnectionEvents, LoadConnection, LoadDriver } from '../drivers/connection';
import { OnlineSet } from './online-set';

export const enum UserState {
  Offline = 0,
  Connecting = 1,
  Online = 2,
}

// No heartbeat of ours keeps a silent connection open: the gateway pings it (uWS
// sendPingsAutomatically, after idle_timeout_seconds / 2 of silence) and the client's
// WebSocket layer answers with a pong. An app-level ping per connection every 20 s,
// as before, cost the generator ~1.5% of a core per 10k idle connections, and the
// gateway a JS decode and reply each (docs/design/023-connections-at-scale.md).

/** What happens on a user's current connection, for the world to act on. */
export interface UserEvents {
  /** User u's connection is open (authenticated by its upgrade): what waits in its outbox can go. */
  onOpen(u: number): void;
  onDeliver(u: number, body: Uint8Array, replay: boolean, chatId: string, id: number): void;
  onSent(u: number, ref: number, id: number, chatId: string): void;
  onRejected(u: number, ref: number, code: string): void;
  onError(u: number, code: string): void;
  /** traffic.e2ee: a body user u received did not decrypt. */
  onUndecryptable(u: number, reason: string): void;
  onReceipt(u: number, chatId: string, kind: number, upTo: number): void;
  /** DrainDone outside setup (setup's are settled here). */
  onDrainDone(u: number, messages: number): void;
  /** The target closed the user's current connection (not one we closed or replaced). */
  onClose(u: number): void;
}

export class Connections {
  readonly online: OnlineSet;
  /** Users online or reconnecting by themselves: who can be asked to send. */
  readonly active: OnlineSet;
  readonly isOnline = (u: number): boolean => this.state[u] === UserState.Online;
  readonly isActive = (u: number): boolean => this.active.has(u);
  private readonly state: Uint8Array;
  private readonly conns: (LoadConnection | null)[];
  private readonly closingByUs: Uint8Array;
  /** Setup connects waiting for their DrainDone. */
  private readonly drainWaits = new Map<number, () => void>();
  private closingAll = false;

  /**
   * @param userFirst global index of local user 0 (the world's slice of the run's users)
   * @param localAddresses source addresses to spread connections over (none: the kernel's choice)
   */
  constructor(
    n: number,
    private readonly userFirst: number,
    private readonly driver: LoadDriver,
    private readonly localAddresses: string[],
    private readonly events: UserEvents,
  ) {
    this.online = new OnlineSet(n);
    this.active = new OnlineSet(n);
    this.state = new Uint8Array(n);
    this.conns = new Array(n).fill(null);
    this.closingByUs = new Uint8Array(n);
  }

  globalIndex(u: number): number {
    return this.userFirst + u;
  }

  isOffline(u: number): boolean {
    return this.state[u] === UserState.Offline;
  }

  /** User u's connection while it is online. */
  connection(u: number): LoadConnection | null {
    return this.conns[u];
  }

  /** We closed u's connection ourselves (it must not reconnect by itself). */
  closedByUs(u: number): boolean {
    return this.closingByUs[u] === 1;
  }

  /** Set once the world is closing: connections opening now are closed at once, closes are expected. */
  get closing(): boolean {
    return this.closingAll;
  }

  beginClosing(): void {
    this.closingAll = true;
  }

  /** Open user u's connection; resolves once it is online. */
  async connect(u: number): Promise<void> {
    this.state[u] = UserState.Connecting;
    this.closingByUs[u] = 0;
    const gi = this.globalIndex(u);
    const addr = this.localAddresses.length > 0 ? this.localAddresses[gi % this.localAddresses.length] : undefined;
    let conn: LoadConnection;
    try {
      const ev = this.eventsFor(u);
      conn = await this.driver.connect(gi, ev, addr);
      ev.bind(conn);
    } catch (err) {
      this.state[u] = UserState.Offline;
      throw err;
    }
    if (this.closingAll) {
      conn.close();
      this.state[u] = UserState.Offline;
      return;
    }
    this.conns[u] = conn;
    this.state[u] = UserState.Online;
    this.online.add(u);
    this.active.add(u);
    this.events.onOpen(u);
  }

  /** Close user u's connection on purpose; false if it had none. */
  close(u: number): boolean {
    const c = this.conns[u];
    this.lost(u);
    this.active.remove(u);
    if (!c) return false;
    this.closingByUs[u] = 1;
    c.close();
    return true;
  }

  /** User u has no connection any more (the target closed it, or we did). */
  lost(u: number): void {
    this.online.remove(u);
    this.state[u] = UserState.Offline;
    this.conns[u] = null;
  }

  /** User u stopped trying to reconnect: it is no longer asked to send. */
  gaveUp(u: number): void {
    this.active.remove(u);
  }

  /** Resolves when user u's next DrainDone arrives (call before connecting); rejects after `timeoutMs`. */
  waitDrainDone(u: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.drainWaits.delete(u);
        reject(new Error(`no DrainDone within ${timeoutMs} ms of connecting`));
      }, timeoutMs);
      this.drainWaits.set(u, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The connect failed: nobody waits for its DrainDone any more (the wait's timer runs out quietly). */
  cancelDrainWait(u: number): void {
    this.drainWaits.delete(u);
  }

  /** Events of one connection of user u; `bind` tells them which connection they belong to. */
  private eventsFor(u: number): ConnectionEvents & { bind(c: LoadConnection): void } {
    const sink = this.events;
    let live = true;
    let mine: LoadConnection | null = null;
    return {
      bind: (c: LoadConnection) => {
        mine = c;
      },
      onDeliver: (body, replay, chatId, id) => live && sink.onDeliver(u, body, replay, chatId, id),
      onSent: (ref, id, chatId) => live && sink.onSent(u, ref, id, chatId),
      onRejected: (ref, code) => live && sink.onRejected(u, ref, code),
      onError: (code) => live && sink.onError(u, code),
      onUndecryptable: (reason) => live && sink.onUndecryptable(u, reason),
      onReceipt: (chatId, kind, upTo) => live && sink.onReceipt(u, chatId, kind, upTo),
      onDrainDone: (messages) => live && this.drainDone(u, messages),
      onClose: () => {
        if (!live) return;
        live = false;
        // Only the user's current connection matters: one we closed, or replaced, is gone already.
        if (mine !== null && this.conns[u] === mine) sink.onClose(u);
      },
    };
  }

  private drainDone(u: number, messages: number): void {
    const setup = this.drainWaits.get(u);
    if (!setup) return this.events.onDrainDone(u, messages);
    this.drainWaits.delete(u);
    setup();
  }
}
