// The generator's own source ports (loadgen/client/source-ports.ts): per
// local address they cycle through the range, and a port that is taken is
// skipped: a real listener holds the first port this thread would pick, and a
// real WebSocket connect from that address still opens, from the next port.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createServer } from 'node:net';
import { WebSocketServer } from 'ws';
import { SOURCE_PORT_MAX, SOURCE_PORT_MIN, SourcePorts } from '../loadgen/client/source-ports';
import { connectTransport } from '../loadgen/client/transport';

const ADDRESS = '127.0.1.9';

describe('source ports', () => {
  test('each address has its own sequence, which wraps at the end of the range', () => {
    const p = new SourcePorts(SOURCE_PORT_MAX - SOURCE_PORT_MIN - 1);
    assert.deepEqual([p.take('127.0.1.1'), p.take('127.0.1.1'), p.take('127.0.1.1')], [SOURCE_PORT_MAX - 1, SOURCE_PORT_MAX, SOURCE_PORT_MIN]);
    assert.equal(p.take('127.0.1.2'), SOURCE_PORT_MAX - 1, 'another address starts where it starts');
  });

  test('a connect whose source port is taken goes out from the next one', async () => {
    // This thread's first pick for a fresh address is SOURCE_PORT_MIN (main thread: offset 0).
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(SOURCE_PORT_MIN, ADDRESS, r));
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', r));
    const seen = new Promise<{ address?: string; port?: number }>((r) => wss.once('connection', (_ws, req) => r({ address: req.socket.remoteAddress, port: req.socket.remotePort })));
    try {
      const t = await connectTransport({ url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`, token: 't', localAddress: ADDRESS, connectTimeoutMs: 5000 });
      assert.deepEqual(await seen, { address: ADDRESS, port: SOURCE_PORT_MIN + 1 });
      t.close();
    } finally {
      wss.close();
      squatter.close();
    }
  });
});
