// Presence: online/offline from the connections, last-seen, and
// subscriptions, with privacy. A connection watches at most presence_watch_max
// users (validated at the edge), and only users who share a chat with it (a
// 1:1 chat or a group, asked of the store at subscription time); the others
// are refused with PRESENCE_NOT_ALLOWED and never reported. A watched user's
// last-seen setting (LastSeenPrivacy: everyone / contacts = a 1:1 chat with
// them / nobody) decides whether a watcher hears anything: one who may not
// gets online = false, last_seen_ms = 0 and no updates.
//
// Settings are stored (store.setLastSeenPrivacy) and cached here; a user whose
// setting is not in the cache is treated as NOBODY until read (fail closed).
// Known limits (docs/design/015-abuse-and-authorization.md): the shared-chat
// check happens at subscription time, so a member removed from the only group
// they shared keeps hearing until they subscribe again or reconnect; in the
// multi-node topology another node's cached setting is refreshed at its next
// subscription to that user.
import { invariant } from '../../lib/invariant';
import { ErrorCode, ProtocolError } from '../common/errors';
import { LastSeenPrivacy, type PresenceSubscribeBody, type SetPrivacyBody } from '../common/protocol';
import { isUserId } from '../common/validation';
import type { SharedChats } from '../store/store';
import { replyError, type EngineContext } from './context';
import type { PresenceChange } from './inbound';
import type { ConnState, GatewayLinkRef } from './routes';

export class Presence<L extends GatewayLinkRef> {
  /** Users' LastSeenPrivacy, as last read or set on this node. Cleared when it passes known_users_cached_max. */
  private readonly privacy = new Map<number, number>();
  /** Per watching connection: for each watched user, whether they share a 1:1 chat (the CONTACTS rule). */
  private readonly direct = new WeakMap<ConnState<L>, Map<number, boolean>>();
  /** Per connection, the newest subscription: an older one that finishes its store reads later is dropped. */
  private readonly latest = new WeakMap<ConnState<L>, number>();
  private subscriptions = 0;

  constructor(private readonly ctx: EngineContext<L>) {}

  /** Replace what a connection watches (the allowed part of it), and tell it where each watched user stands now. */
  subscribe(state: ConnState<L>, ref: number, body: PresenceSubscribeBody, nowMs: number): void {
    invariant(body.user_ids.length <= this.ctx.limits.presence_watch_max, 'presence subscriptions are validated at the edge');
    const asked = [...new Set(body.user_ids.filter((u) => isUserId(u) && u !== state.user))];
    const seq = ++this.subscriptions;
    this.latest.set(state, seq);
    void this.checkAndWatch(state, ref, asked, seq, nowMs).catch((err: Error) => {
      replyError(this.ctx, state, ref, new ProtocolError(ErrorCode.UNAVAILABLE, `presence: ${err.message}`));
    });
  }

  private async checkAndWatch(state: ConnState<L>, ref: number, asked: number[], seq: number, nowMs: number): Promise<void> {
    const shared: SharedChats[] = await Promise.all(asked.map((u) => this.ctx.store.sharedChatKinds(state.user, u)));
    const records = await Promise.all(asked.map((u) => this.ctx.store.getUser(u)));
    if (this.latest.get(state) !== seq) return; // a newer subscription replaced this one
    if (!this.ctx.routes.conn(state.link, state.conn)) return; // closed meanwhile
    const allowed: number[] = [];
    const refused: number[] = [];
    const direct = new Map<number, boolean>();
    asked.forEach((u, i) => {
      const s = shared[i]!;
      if (!s.direct && !s.group) {
        refused.push(u);
        return;
      }
      allowed.push(u);
      direct.set(u, s.direct);
      this.remember(u, records[i]?.last_seen_privacy ?? LastSeenPrivacy.NOBODY);
    });
    this.direct.set(state, direct);
    this.ctx.routes.setWatching(state, allowed);
    if (refused.length > 0) {
      this.ctx.out.emit({
        t: 'error', to: state, ref, code: ErrorCode.PRESENCE_NOT_ALLOWED,
        message: `no chat shared with user(s) ${refused.slice(0, 8).join(', ')}${refused.length > 8 ? ', ...' : ''}: not watched`,
      });
    }
    asked.forEach((u, i) => {
      if (!direct.has(u)) return;
      const visible = this.visible(u, state);
      const online = visible && this.ctx.routes.isOnline(u);
      const lastSeenMs = !visible ? 0 : online ? nowMs : (records[i]?.last_seen_ms ?? 0);
      this.ctx.out.emit({ t: 'presence', to: [state], user: u, online, lastSeenMs });
    });
  }

  /** A user sets who may see their online status and last seen; stored before the reply. */
  async setPrivacy(state: ConnState<L>, ref: number, body: SetPrivacyBody): Promise<void> {
    await this.ctx.store.setLastSeenPrivacy(state.user, body.last_seen);
    this.remember(state.user, body.last_seen);
    this.ctx.out.emit({ t: 'privacy', to: state, ref, lastSeen: body.last_seen });
  }

  /** A user came online or went offline: the watchers its setting allows hear it. */
  announce(change: PresenceChange): void {
    const { stats } = this.ctx;
    if (change.online) stats.presenceOnline++;
    else stats.presenceOffline++;
    const watchers = this.ctx.routes.watchersOf(change.user);
    if (!watchers || watchers.size === 0) return;
    const to = [...watchers].filter((w) => this.visible(change.user, w));
    if (to.length === 0) return;
    stats.presenceUpdatesSent += to.length;
    this.ctx.out.emit({ t: 'presence', to, user: change.user, online: change.online, lastSeenMs: change.lastSeenMs });
  }

  /** Whether `watcher` may see `user`'s online status and last seen under the user's setting. */
  private visible(user: number, watcher: ConnState<L>): boolean {
    const setting = this.privacy.get(user) ?? LastSeenPrivacy.NOBODY;
    switch (setting) {
      case LastSeenPrivacy.UNSPECIFIED:
      case LastSeenPrivacy.EVERYONE: return true;
      case LastSeenPrivacy.CONTACTS: return this.direct.get(watcher)?.get(user) === true;
      default: return false;
    }
  }

  private remember(user: number, setting: number): void {
    if (this.privacy.size >= this.ctx.limits.known_users_cached_max && !this.privacy.has(user)) this.privacy.clear();
    this.privacy.set(user, setting);
  }
}
