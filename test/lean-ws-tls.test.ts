// wss:// through HAProxy terminating TLS (all real processes on loopback): a
// certificate the test makes with openssl, signed by a test CA. The lean
// client (and the `ws` cross-check) trusts that CA from a file and exchanges
// messages; HAProxy runs with strict-sni, so a handshake only succeeds when
// the client sends the URL's host name as SNI; a wrong CA or Node's own roots
// fail with an error that names --ca-file; the lab's insecure flag passes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { startHaproxy, type HaproxyServer } from '../deploy/services/haproxy';
import { ChatClient } from '../loadgen/client/chat-client';
import { LeanWebSocket } from '../loadgen/client/lean-ws';
import type { TlsClientOptions, TransportKind } from '../loadgen/client/transport';
import { tlsServername } from '../loadgen/client/ws-handshake';
import { mintToken } from '../server/common/token';
import { provisionFresh, waitFor } from './helpers/system';
import { makeTestCerts, type TestCerts } from './helpers/test-certs';

describe('wss:// through HAProxy terminating TLS', () => {
  let certs: TestCerts;
  let sys: RunningSystem;
  let hp: HaproxyServer;
  let ca: string;

  before(async () => {
    certs = makeTestCerts();
    ca = readFileSync(certs.caPath, 'utf8');
    sys = await startSystem({ gateways: 1 });
    hp = await startHaproxy({ serverPorts: sys.gatewayPorts, tls: { pemPath: certs.serverPemPath, strictSni: true } });
    await hp.waitServer(sys.gatewayPorts[0]!, true, 5000);
  });
  after(async () => {
    await hp?.stop();
    await sys?.stop();
    certs?.remove();
  });

  async function exchange(kind: TransportKind, tls: TlsClientOptions): Promise<void> {
    const [a, b] = await provisionFresh(sys, 2);
    const url = hp.tlsUrl('localhost');
    const sender = await ChatClient.connect({ url, kind, tls, token: mintToken(sys.secret, a!, 600) });
    const receiver = await ChatClient.connect({ url, kind, tls, token: mintToken(sys.secret, b!, 600) });
    try {
      const got: string[] = [];
      receiver.onMessage = (m) => got.push(Buffer.from(m.body).toString());
      await sender.send(b!, Buffer.from(`over tls (${kind})`));
      await waitFor(() => got.length === 1, 10_000, 'the message crossed TLS');
      assert.deepEqual(got, [`over tls (${kind})`]);
    } finally {
      sender.close();
      receiver.close();
    }
  }

  test('SNI comes from the URL host name, never from an IP literal', () => {
    assert.equal(tlsServername('localhost'), 'localhost');
    assert.equal(tlsServername('gw.example.com'), 'gw.example.com');
    assert.equal(tlsServername('127.0.0.1'), undefined);
    assert.equal(tlsServername('[::1]'), undefined);
  });

  test('the lean client trusts the CA from the file, sends SNI, and a message crosses TLS both ways', async () => {
    await exchange('lean', { ca });
  });

  test('the ws package (the cross-check transport) does the same with the same options', async () => {
    await exchange('ws', { ca });
  });

  test('no SNI (an IP literal) is refused by a strict-sni listener: the name really travels in the handshake', async () => {
    const token = mintToken(sys.secret, 1, 60);
    await assert.rejects(LeanWebSocket.connect({ url: hp.tlsUrl('127.0.0.1'), headers: { authorization: `Bearer ${token}` }, tls: { ca } }));
  });

  test('a wrong CA, and Node\'s bundled roots, fail with a clear error naming --ca-file', async () => {
    const token = mintToken(sys.secret, 1, 60);
    const headers = { authorization: `Bearer ${token}` };
    const other = readFileSync(certs.otherCaPath, 'utf8');
    for (const tls of [{ ca: other }, {}]) {
      await assert.rejects(LeanWebSocket.connect({ url: hp.tlsUrl('localhost'), headers, tls }), (err: Error) => {
        assert.match(err.message, /TLS: the certificate of localhost:\d+ is not trusted \(\w+/);
        assert.match(err.message, /--ca-file/);
        return true;
      });
    }
  });

  test('--insecure-skip-tls-verify (labs) connects without trusting anything', async () => {
    await exchange('lean', { insecureSkipVerify: true });
  });
});
