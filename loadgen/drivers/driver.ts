// A driver connects the load engine to a target. The engine knows users by
// index (0..n-1); a driver maps indexes to whatever the target needs (user ids
// and tokens for the real system, relay ids for the bare forwarder).

export interface Endpoint {
  /** Send `payload` to user `toIndex`. */
  send(toIndex: number, payload: Uint8Array): void;
  /** Set by the engine: a payload arrived (the engine parses its own header). */
  onReceive: (payload: Uint8Array) => void;
  onClose: (code: number) => void;
  /** Errors the target reported for this endpoint (e.g. RATE_LIMITED). */
  errors: number;
  close(): void;
}

export interface Driver {
  readonly name: string;
  connect(index: number): Promise<Endpoint>;
  /** Optional bulk preparation before connecting (setup, not measured). */
  prepare?(users: number): Promise<void>;
}
