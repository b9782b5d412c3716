// Drives the real system: user i is load-test user PROVISIONED_USER_ID_MIN + base + i,
// with a token minted from the shared secret (no registration storm).
import { PROVISIONED_USER_ID_MIN } from '../../server/common/ids';
import { mintToken } from '../../server/common/token';
import { ChatClient } from '../client/chat-client';
import type { TransportKind } from '../client/transport';
import type { Driver, Endpoint } from './driver';

export interface SystemDriverOptions {
  url: string;
  secret: string;
  transport?: TransportKind;
  /** Offset of this run's users, so repeated runs on one store use fresh users. */
  userBase?: number;
  ackDelayMs?: number;
  /** Each ack also marks the messages read (the recipient sends delivered + read in one cumulative ack; the sender gets both receipts). */
  autoRead?: boolean;
}

export class SystemDriver implements Driver {
  readonly name = 'system';
  readonly base: number;

  constructor(private readonly opts: SystemDriverOptions) {
    this.base = PROVISIONED_USER_ID_MIN + (opts.userBase ?? 0);
  }

  userId(index: number): number {
    return this.base + index;
  }

  async connect(index: number): Promise<Endpoint> {
    const client = await ChatClient.connect({
      url: this.opts.url,
      token: mintToken(this.opts.secret, this.userId(index), 3600),
      kind: this.opts.transport ?? 'lean',
      ackDelayMs: this.opts.ackDelayMs ?? 5,
      autoRead: this.opts.autoRead ?? false,
    });
    const endpoint: Endpoint = {
      send: (toIndex, payload) => client.sendNoWait(this.userId(toIndex), payload),
      onReceive: () => {},
      onClose: () => {},
      errors: 0,
      close: () => client.close(),
    };
    client.onMessage = (m) => endpoint.onReceive(m.body);
    client.onError = () => endpoint.errors++;
    client.onClose = (code) => endpoint.onClose(code);
    return endpoint;
  }
}
