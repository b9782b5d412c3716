// The peer drivers of bench/peers.ts against the real brokers, each started by
// the project on a free loopback port (deploy/services/{mosquitto,nats}.ts):
// a pair exchange delivers every message with its payload and every send is
// acked; a send to a broker that went away is counted as failed with a reason,
// never lost silently; the brokers leave no process or temp dir behind.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../lib/async';
import { mqttConnAck, startMosquitto, type MosquittoServer } from '../deploy/services/mosquitto';
import { startNats, type NatsServer } from '../deploy/services/nats';
import type { Driver, Endpoint } from '../loadgen/drivers/driver';
import { JetStreamDriver, type JetStreamConsumerKind } from '../loadgen/drivers/jetstream-driver';
import { MqttDriver } from '../loadgen/drivers/mqtt-driver';
import { runPairLoad } from '../loadgen/engine/pair-load';

const MESSAGES_PER_SENDER = 40;
const DELIVERY_TIMEOUT_MS = 10_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Users 0 and 1 each send MESSAGES_PER_SENDER numbered payloads to the other through ONE reused buffer (as pair-load does). */
async function pairExchange(driver: Driver): Promise<void> {
  await driver.prepare?.(2);
  const ends: Endpoint[] = [await driver.connect(0), await driver.connect(1)];
  const received: string[][] = [[], []];
  ends.forEach((e, i) => (e.onReceive = (p) => received[i]!.push(Buffer.from(p).toString())));
  try {
    const buf = Buffer.alloc(16);
    for (let k = 0; k < MESSAGES_PER_SENDER; k++) {
      for (const from of [0, 1]) {
        buf.fill(0).write(`m-${from}-${k}`);
        ends[from]!.send(from ^ 1, buf);
      }
    }
    buf.fill(0x78); // a driver that kept a reference instead of a copy would now send "xxxx..."
    await waitFor(() => received.every((r) => r.length >= MESSAGES_PER_SENDER) && ends.every((e) => e.sendAcks!.pending === 0),
      DELIVERY_TIMEOUT_MS, 'every message delivered and acked');
    for (const to of [0, 1]) {
      const expected = Array.from({ length: MESSAGES_PER_SENDER }, (_, k) => `m-${to ^ 1}-${k}`.padEnd(16, '\0'));
      assert.deepEqual(received[to], expected, `user ${to} got every message of its partner, once, in order, with its payload`);
    }
    for (const e of ends) {
      assert.equal(e.sendAcks!.acked, MESSAGES_PER_SENDER, 'every send acked by the broker');
      assert.deepEqual([...e.sendAcks!.failed], []);
      assert.equal(e.errors, 0);
    }
  } finally {
    for (const e of ends) e.close();
  }
}

/** pair-load through the driver: every scheduled message delivered and every send acked. */
async function pairLoad(driver: Driver): Promise<void> {
  await driver.prepare?.(4);
  const r = await runPairLoad(driver, { users: 4, stages: [{ rate: 400, durationS: 1 }], graceMs: 3000 });
  const s = r.stages[0]!;
  assert.equal(s.delivered, s.scheduled);
  assert.equal(s.lost + s.duplicated + s.outOfOrder, 0);
  assert.deepEqual(r.sendAcks, { acked: s.scheduled, failed: {}, pending: 0 });
  assert.equal(r.errors + r.closedUnexpectedly, 0);
}

/**
 * The broker is frozen, user 0 sends (no ack can come), then the broker is killed: those sends fail
 * as "disconnected", the disconnect is seen, and a later send fails as "not connected".
 */
async function brokerGone(driver: Driver, freeze: () => void, kill: () => Promise<void>): Promise<void> {
  await driver.prepare?.(2);
  const ends = [await driver.connect(0), await driver.connect(1)];
  let closes = 0;
  for (const e of ends) e.onClose = () => closes++;
  try {
    freeze();
    for (let k = 0; k < 5; k++) ends[0]!.send(1, Buffer.from(`lost-${k}`));
    assert.equal(ends[0]!.sendAcks!.pending, 5, 'sent to a frozen broker: waiting for acks');
    await kill();
    await waitFor(() => closes === 2, DELIVERY_TIMEOUT_MS, 'both clients saw the disconnect');
    ends[0]!.send(1, Buffer.from('after'));
    const acks = ends[0]!.sendAcks!;
    assert.deepEqual({ acked: acks.acked, pending: acks.pending, failed: Object.fromEntries(acks.failed) },
      { acked: 0, pending: 0, failed: { disconnected: 5, 'not connected': 1 } });
    assert.equal(ends[0]!.errors, 5 + 1 + 1, 'each failed send and the disconnect counted as errors');
    assert.equal(ends[1]!.errors, 1);
  } finally {
    for (const e of ends) e.close();
  }
}

describe('MQTT QoS 1 driver against a Mosquitto of our own', () => {
  let broker: MosquittoServer;
  before(async () => {
    broker = await startMosquitto();
  });
  after(async () => {
    await broker?.stop();
  });

  test('the broker listens on a free loopback port, not the machine\'s 1883', async () => {
    assert.notEqual(broker.port, 1883);
    assert.ok(await mqttConnAck(broker.port), 'CONNACK accepted');
  });

  test('a pair exchange delivers every message with its payload; every publish is PUBACKed', async () => {
    await pairExchange(new MqttDriver({ url: broker.url }));
  });

  test('pair-load through the driver: delivered = scheduled, acked = scheduled', async () => {
    await pairLoad(new MqttDriver({ url: broker.url }));
  });

  test('sends to a broker that went away fail with a reason and count as errors', async () => {
    const doomed = await startMosquitto();
    try {
      await brokerGone(new MqttDriver({ url: doomed.url }), () => doomed.proc.pause(), () => doomed.proc.kill());
    } finally {
      await doomed.stop();
    }
  });

  test('stopping the broker leaves no process and no temp dir', async () => {
    const b = await startMosquitto();
    const pid = b.proc.pid;
    const dir = b.configDir;
    assert.ok(alive(pid) && existsSync(dir));
    await b.stop();
    assert.ok(!alive(pid), 'mosquitto exited');
    assert.ok(!existsSync(dir), 'its config dir removed');
  });
});

describe('JetStream driver against a nats-server of our own', () => {
  let nats: NatsServer;
  before(async () => {
    nats = await startNats();
  });
  after(async () => {
    await nats?.stop();
  });

  test('the server listens on a free loopback port, not the machine\'s 4222, with JetStream on file storage in a temp dir', async () => {
    assert.notEqual(nats.port, 4222);
    await new JetStreamDriver({ url: nats.url, runTag: 'probe' }).prepare();
    await waitFor(() => existsSync(`${nats.storeDir}/jetstream/$G/streams/WA_PEERS_probe`), 5000, 'the stream stored under the temp dir');
  });

  for (const consumer of ['push', 'pull'] as JetStreamConsumerKind[]) {
    test(`${consumer} consumers: a pair exchange delivers every message with its payload; every publish is acked`, async () => {
      await pairExchange(new JetStreamDriver({ url: nats.url, consumer }));
    });
  }

  test('pair-load through the driver: delivered = scheduled, acked = scheduled', async () => {
    await pairLoad(new JetStreamDriver({ url: nats.url }));
  });

  test('sends to a server that went away fail with a reason and count as errors', async () => {
    const doomed = await startNats();
    try {
      await brokerGone(new JetStreamDriver({ url: doomed.url }), () => doomed.proc.pause(), () => doomed.proc.kill());
    } finally {
      await doomed.stop();
    }
  });

  test('stopping the server leaves no process and no store behind', async () => {
    const n = await startNats();
    const pid = n.proc.pid;
    assert.ok(alive(pid) && existsSync(n.storeDir));
    await n.stop();
    assert.ok(!alive(pid), 'nats-server exited');
    assert.ok(!existsSync(n.storeDir), 'its JetStream store removed');
  });
});
