// The chat engine's counters: plain numbers bumped on the hot path, read by
// server/metrics/chat-metrics.ts when Prometheus scrapes (never observed per
// message).

export interface EngineStats {
  ticks: number;
  messagesStored: number;
  /** User messages stored, by chat kind (messagesStored also counts group system events). */
  sendsDirect: number;
  sendsGroup: number;
  /** Sends answered with an error frame. */
  sendsRejected: number;
  deliveriesLive: number;
  deliveriesReplayed: number;
  duplicatesSuppressed: number;
  drainsCompleted: number;
  presenceOnline: number;
  presenceOffline: number;
  presenceUpdatesSent: number;
  /** Frames for a partition this node does not serve (answered UNAVAILABLE; acks dropped). */
  framesNotServed: number;
  /** Commits the store refused: fenced (another node claimed a partition since) or failed. */
  commitsFailed: number;
  commitsFenced: number;
  /** Key directory (server/chat/keys.ts): uploads stored, bundle fetches answered, one-time prekeys handed out. */
  keyUploads: number;
  keyFetches: number;
  prekeysHandedOut: number;
  /** Wall time of the store's takes behind answered fetches (key-storm: the key directory's store load per fetch). */
  keyFetchStoreSeconds: number;
  /** The part of it that held the event loop (SQLite: the transaction itself). */
  keyFetchStoreBlockingSeconds: number;
  /** Error frames sent, by code. */
  errors: Record<string, number>;
}

export function newEngineStats(): EngineStats {
  return {
    ticks: 0, messagesStored: 0, sendsDirect: 0, sendsGroup: 0, sendsRejected: 0, deliveriesLive: 0, deliveriesReplayed: 0,
    duplicatesSuppressed: 0, drainsCompleted: 0, presenceOnline: 0, presenceOffline: 0, presenceUpdatesSent: 0, errors: {},
    framesNotServed: 0, commitsFailed: 0, commitsFenced: 0, keyUploads: 0, keyFetches: 0, prekeysHandedOut: 0,
    keyFetchStoreSeconds: 0, keyFetchStoreBlockingSeconds: 0,
  };
}
