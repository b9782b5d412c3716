// The gateway's counters: plain numbers bumped on the hot path, read by
// server/metrics/gateway-metrics.ts when Prometheus scrapes.
import type { ClientFrameKind } from '../metrics/gateway-metrics';

export interface GatewayStats {
  /** Connections opened (upgrades accepted) since start. */
  connections: number;
  connectionsClosed: number;
  framesIn: number;
  framesOut: number;
  framesByType: Record<ClientFrameKind, number>;
  wsMessagesIn: number;
  wsMessagesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Refusals by reason: an error code, a close reason (TEXT_FRAME, MESSAGE_TOO_BIG, BACKPRESSURE), BAD_TOKEN or DRAINING (an upgrade refused while the gateway drains). */
  rejected: Record<string, number>;
  backpressureCloses: number;
}

export function newGatewayStats(): GatewayStats {
  return {
    connections: 0, connectionsClosed: 0, framesIn: 0, framesOut: 0, wsMessagesIn: 0, wsMessagesOut: 0, bytesIn: 0, bytesOut: 0,
    rejected: {}, backpressureCloses: 0,
    framesByType: {
      send: 0, ack: 0, history: 0, presence_subscribe: 0, ping: 0, create_group: 0, group_change: 0, group_info: 0, message_info: 0, set_privacy: 0, keys_upload: 0, key_bundle_request: 0, invalid: 0,
    },
  };
}

export function countRejection(stats: GatewayStats, reason: string): void {
  stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1;
}
