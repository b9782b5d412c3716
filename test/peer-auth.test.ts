// Gateways and chat nodes authenticate each other (server/common/peer-auth.ts):
// the proofs themselves, a real chat service refusing calls without a valid
// proof, and a gateway link refusing a "chat service" that cannot prove itself.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ChatLink } from '../server/gateway/chat-link';
import { chatServiceDefinition, ChatServiceClient, type WireChatBatch, type WireGatewayBatch } from '../server/common/grpc-defs';
import { DEFAULT_LIMITS } from '../server/common/config';
import { clientProof, PEER_AUTH_HEADER, PEER_AUTH_SKEW_MS, peerKey, serverProof, verifyClientProof, verifyServerProof } from '../server/common/peer-auth';
import { newSecret } from '../server/common/token';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { sleep, waitFor } from './helpers/system';

describe('peer proofs', () => {
  const key = peerKey(newSecret());
  test('a proof verifies with the same key; another key, a changed field, a stale time or junk does not', () => {
    const { proof, nonce } = clientProof(key, 'gw-1');
    assert.deepEqual(verifyClientProof(key, proof), { who: 'gw-1', nonce });
    assert.equal(verifyClientProof(peerKey(newSecret()), proof), null);
    assert.equal(verifyClientProof(key, proof.replace('gw-1', 'gw-2')), null);
    assert.equal(verifyClientProof(key, clientProof(key, 'gw-1', Date.now() - PEER_AUTH_SKEW_MS - 1000).proof), null);
    for (const junk of [undefined, '', 'a.b.c.d', 'x'.repeat(300), 42]) assert.equal(verifyClientProof(key, junk), null);
    const answer = serverProof(key, 'chat-0', nonce);
    assert.equal(verifyServerProof(key, answer, nonce), 'chat-0');
    assert.equal(verifyServerProof(key, answer, 'another-call'), null, 'an answer is bound to its call');
    assert.throws(() => clientProof(key, 'bad id with spaces'));
  });
});

describe('a chat service refuses calls that do not prove they come from a gateway', () => {
  let sys: RunningSystem;
  before(async () => {
    sys = await startSystem({});
  });
  after(async () => {
    await sys?.stop();
  });

  test('ProvisionUsers without a proof, or with a proof made from another secret: UNAUTHENTICATED; with the right one: served', async () => {
    const client = new ChatServiceClient(sys.chatTarget, grpc.credentials.createInsecure()) as unknown as grpc.Client &
      { ProvisionUsers: (r: object, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: { created: number }) => void) => void };
    const call = (md: grpc.Metadata) => new Promise<{ err: grpc.ServiceError | null; created?: number }>((resolve) =>
      client.ProvisionUsers({ first_user: 1_500_000_000, count: 2 }, md, (err, r) => resolve({ err, created: r?.created })));
    try {
      const none = await call(new grpc.Metadata());
      assert.equal(none.err?.code, grpc.status.UNAUTHENTICATED);
      const wrong = new grpc.Metadata();
      wrong.set(PEER_AUTH_HEADER, clientProof(peerKey(newSecret()), 'intruder').proof);
      assert.equal((await call(wrong)).err?.code, grpc.status.UNAUTHENTICATED);
      const right = new grpc.Metadata();
      right.set(PEER_AUTH_HEADER, clientProof(peerKey(sys.secret), 'test').proof);
      const ok = await call(right);
      assert.equal(ok.err, null);
      assert.equal(ok.created, 2);
    } finally {
      client.close();
    }
  });

  test('a gateway link made with another secret never comes up; the real gateways are unaffected', async () => {
    let downs = 0;
    const link = new ChatLink({
      target: sys.chatTarget, gatewayId: 'gw-intruder', peerKey: peerKey(newSecret()), limits: DEFAULT_LIMITS,
      sessions: () => [], onBatch: () => {}, onDown: () => downs++,
    });
    link.start();
    await sleep(500);
    assert.equal(link.up, false);
    link.close();
    assert.equal((await sys.health(0)).chat_link, 'up');
  });
});

describe('a gateway refuses a chat service that cannot prove itself', () => {
  test('a server that answers without a proof (or with a proof from another key) is never used', async () => {
    for (const answerKey of [null, peerKey(newSecret())]) {
      const server = new grpc.Server();
      let batchesFromGateway = 0;
      server.addService(chatServiceDefinition, {
        Connect: (call: grpc.ServerDuplexStream<WireGatewayBatch, WireChatBatch>) => {
          if (answerKey) {
            const md = new grpc.Metadata();
            md.set(PEER_AUTH_HEADER, serverProof(answerKey, 'fake', 'nonce'));
            call.sendMetadata(md);
          }
          call.on('data', () => batchesFromGateway++);
          call.write({ items: [] }); // the welcome a real chat service sends
        },
        Register: () => {},
        ProvisionUsers: () => {},
      });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
      const link = new ChatLink({
        target: `127.0.0.1:${port}`, gatewayId: 'gw-1', peerKey: peerKey(newSecret()), limits: DEFAULT_LIMITS,
        sessions: () => [], onBatch: () => assert.fail('a batch from an unproven node was used'),
      });
      link.start();
      await waitFor(() => link.authFailures > 0, 5000, 'the link refuses the node');
      assert.equal(link.up, false);
      assert.equal(link.push({ conn: 1, user: 1, frame: new Uint8Array([1]), recv_at_us: 0 }), false, 'nothing is sent to it');
      link.close();
      server.forceShutdown();
      assert.equal(batchesFromGateway, 0, 'not even the hello (with the sessions) reached it');
    }
  });
});
