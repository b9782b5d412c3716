// A driver connects the load engine to a target. The engine knows users by
// index (0..n-1); a driver maps indexes to whatever the target needs (user ids
// and tokens for the real system, relay ids for the bare forwarder).

export interface Endpoint {
  /** Send `payload` to user `toIndex`. */
  send(toIndex: number, payload: Uint8Array): void;
  /** Set by the engine: a payload arrived (the engine parses its own header). */
  onReceive: (payload: Uint8Array) => void;
  onClose: (code: number) => void;
  /** Errors the target reported for this endpoint (e.g. RATE_LIMITED, a failed publish ack, a disconnect). */
  errors: number;
  close(): void;
  /**
   * Drivers that see a per-send ack (the peers' MQTT PUBACK, JetStream's publish ack) account for
   * every send here, so none is dropped silently: each is acked, failed with a reason, or still
   * pending. The others leave it undefined (pair-load still counts deliveries for every driver).
   */
  sendAcks?: SendAcks;
}

/** One endpoint's sends as the target answered them; acked + failed + pending = sends made. */
export interface SendAcks {
  acked: number;
  /** Sends that will never be acked, by reason ("disconnected", "publish timeout", ...). */
  failed: Map<string, number>;
  /** Sends still waiting for their ack. */
  pending: number;
}

/** Count one failed send under `reason`. */
export function countFailure(acks: SendAcks, reason: string, n = 1): void {
  acks.failed.set(reason, (acks.failed.get(reason) ?? 0) + n);
}

/** The connection is gone: every send still waiting for its ack fails with `reason`; returns how many. */
export function failPending(acks: SendAcks, reason: string): number {
  const pending = acks.pending;
  acks.pending = 0;
  if (pending > 0) countFailure(acks, reason, pending);
  return pending;
}

export interface Driver {
  readonly name: string;
  connect(index: number): Promise<Endpoint>;
  /** Optional bulk preparation before connecting (setup, not measured). */
  prepare?(users: number): Promise<void>;
}
