// Drives the bare uWS forwarder (bench/fixtures/bare-forwarder.ts): the
// reference for "what would the socket tier alone carry". The relay header is
// the destination id as a little-endian float64 in the first 8 bytes.
import { LeanWebSocket } from '../client/lean-ws';
import type { Driver, Endpoint } from './driver';

export class BareDriver implements Driver {
  readonly name = 'bare';

  constructor(private readonly url: string) {}

  async connect(index: number): Promise<Endpoint> {
    const ws = await LeanWebSocket.connect({ url: `${this.url}/?id=${index + 1}` });
    const endpoint: Endpoint = {
      send: (toIndex, payload) => {
        const msg = Buffer.allocUnsafe(8 + payload.length);
        msg.writeDoubleLE(toIndex + 1, 0);
        msg.set(payload, 8);
        ws.send(msg);
      },
      onReceive: () => {},
      onClose: () => {},
      errors: 0,
      close: () => ws.close(),
    };
    ws.onmessage = (data) => endpoint.onReceive(data.subarray(8));
    ws.onclose = (code) => endpoint.onClose(code);
    return endpoint;
  }
}
