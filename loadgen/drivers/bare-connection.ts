// The bare uWS forwarder (bench/fixtures/bare-forwarder.ts) and fixtures that
// speak its protocol: connect with ?id=<n>, prefix each message with the
// destination as a little-endian float64. No acks, receipts or drains: an
// iteration ends when its message reaches the recipient.
import { connectTransport, type TransportKind } from '../client/transport';
import { blockOf, explainConnectError, type ConnectionEvents, type LoadConnection, type LoadDriver } from './connection';

const DEST_BYTES = 8;

export class BareLoadDriver implements LoadDriver {
  readonly name = 'bare';
  readonly acks = false;

  constructor(private readonly urls: string[], private readonly kind: TransportKind, private readonly totalUsers: number) {}

  async connect(globalIndex: number, ev: ConnectionEvents, localAddress: string | undefined): Promise<LoadConnection> {
    const base = this.urls[blockOf(globalIndex, this.totalUsers, this.urls.length)]!;
    const url = `${base.replace(/\/+$/, '')}/?id=${globalIndex + 1}`;
    let t;
    try {
      t = await connectTransport({ url, token: 'bare', kind: this.kind, localAddress });
    } catch (err) {
      throw explainConnectError(err, base);
    }
    t.onmessage = (data) => {
      if (data.length >= DEST_BYTES) ev.onDeliver(data.subarray(DEST_BYTES), false, '', 0);
    };
    t.onclose = (code, reason) => ev.onClose(code, reason);
    return {
      sendMessage(toIndex, body) {
        const msg = Buffer.allocUnsafe(DEST_BYTES + body.length);
        msg.writeDoubleLE(toIndex + 1, 0);
        msg.set(body, DEST_BYTES);
        t.send(msg);
      },
      sendGroupMessage() {
        throw new Error('the bare forwarder has no group chats (a scenario with groups needs the real system)');
      },
      markRead() {},
      close: () => t.close(),
    };
  }
}
