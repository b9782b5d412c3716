// Presence: online/offline from the connections, last-seen, and
// subscriptions. A connection watches at most presence_watch_max users
// (validated at the edge); only watchers hear a user's changes.
import { invariant } from '../../lib/invariant';
import type { PresenceSubscribeBody } from '../common/protocol';
import { isUserId } from '../common/validation';
import type { EngineContext } from './context';
import type { PresenceChange } from './inbound';
import type { ConnState, GatewayLinkRef } from './routes';

export class Presence<L extends GatewayLinkRef> {
  constructor(private readonly ctx: EngineContext<L>) {}

  /** Replace what a connection watches, and tell it where each watched user stands now. */
  subscribe(state: ConnState<L>, body: PresenceSubscribeBody, nowMs: number): void {
    invariant(body.user_ids.length <= this.ctx.limits.presence_watch_max, 'presence subscriptions are validated at the edge');
    const users = [...new Set(body.user_ids.filter((u) => isUserId(u) && u !== state.user))];
    this.ctx.routes.setWatching(state, users);
    void this.snapshot(state, users, nowMs);
  }

  private async snapshot(state: ConnState<L>, users: number[], nowMs: number): Promise<void> {
    for (const u of users) {
      const online = this.ctx.routes.isOnline(u);
      const lastSeenMs = online ? nowMs : ((await this.ctx.store.getUser(u))?.last_seen_ms ?? 0);
      this.ctx.out.emit({ t: 'presence', to: [state], user: u, online, lastSeenMs });
    }
  }

  /** A user came online or went offline: its watchers hear it. */
  announce(change: PresenceChange): void {
    const { stats } = this.ctx;
    if (change.online) stats.presenceOnline++;
    else stats.presenceOffline++;
    const watchers = this.ctx.routes.watchersOf(change.user);
    if (!watchers || watchers.size === 0) return;
    stats.presenceUpdatesSent += watchers.size;
    this.ctx.out.emit({ t: 'presence', to: watchers, user: change.user, online: change.online, lastSeenMs: change.lastSeenMs });
  }
}
