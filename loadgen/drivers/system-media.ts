// User i's media calls on the real system: the HTTP media endpoint of the
// gateway its WebSocket uses (ws -> http, wss -> https, same host and port;
// an upload session lives in that gateway's memory), with user i's token.
// One MediaClient per user, made on first use (fetch keeps its connections alive).
import { directChatId } from '../../server/common/chat-id';
import { MediaClient } from '../client/media-client';
import type { UserDirectory } from '../identity/identities';
import { blockOf, type MediaAccess } from './connection';

/** ws://host:port/v1/ws -> http://host:port (the media endpoint's origin). */
export function mediaOrigin(wsUrl: string): string {
  const u = new URL(wsUrl);
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error(`media: ${wsUrl} is not a ws:// or wss:// url`);
  return `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`;
}

export class SystemMediaAccess implements MediaAccess {
  private readonly origins: string[];
  private readonly clients = new Map<number, MediaClient>();

  constructor(urls: string[], private readonly totalUsers: number, private readonly users: UserDirectory) {
    this.origins = urls.map(mediaOrigin);
  }

  clientOf(globalIndex: number): MediaClient {
    let c = this.clients.get(globalIndex);
    if (!c) {
      c = new MediaClient(this.origins[blockOf(globalIndex, this.totalUsers, this.origins.length)]!, this.users.tokenOf(globalIndex));
      this.clients.set(globalIndex, c);
    }
    return c;
  }

  chatIdOf(a: number, b: number): string {
    return directChatId(this.users.idOf(a), this.users.idOf(b));
  }
}
