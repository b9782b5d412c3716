// Bounds of the peer drivers (MQTT, JetStream: ./mqtt-driver.ts, ./jetstream-driver.ts),
// each with why. The brokers' own bounds are in deploy/services/{mosquitto,nats}.ts.
export const PEER_DRIVER_LIMITS = Object.freeze({
  /** TCP connect + CONNECT/INFO handshake on loopback; generous because 200 connect at once on a busy 2-core box. */
  connect_timeout_ms: 10_000,
  /** SUBACK / consumer creation: one round trip each, a JetStream API call may wait for the store. */
  subscribe_timeout_ms: 10_000,
  /** MQTT keepalive: the broker drops a client silent this long x 1.5; longer than any ramp's stall. */
  keepalive_s: 60,
  /** A JetStream publish not acked in this long fails as "publish timeout" (nats.js's default is 5 s). */
  publish_ack_timeout_ms: 5_000,
  /**
   * JetStream: messages delivered to one consumer and not yet acked before the server holds back more
   * (max_ack_pending). The server default is 1000; a subscriber's share of the highest ramp rate stays well below.
   */
  max_ack_pending: 10_000,
  /** JetStream pull consumers: messages asked for per pull request (nats.js's consume() default is 100). */
  pull_batch_messages: 256,
  /** The stream's size cap (bytes, discard old): bounds the temp dir's disk use over a long ramp. */
  stream_bytes_max: 2 * 1024 * 1024 * 1024,
});
