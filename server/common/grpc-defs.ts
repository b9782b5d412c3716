// The internal gRPC service definition, loaded from proto/chat_service.proto.
// Messages are plain objects (keepCase, longs as numbers: ids stay below 2^53).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { PROTO_DIR } from './paths';

const definition = protoLoader.loadSync(join(PROTO_DIR, 'chat_service.proto'), {
  keepCase: true,
  longs: Number,
  enums: Number,
  defaults: true,
  oneofs: true,
});
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  wa: { internal: { ChatService: grpc.ServiceClientConstructor } };
};

export const ChatServiceClient = pkg.wa.internal.ChatService;
export const chatServiceDefinition = pkg.wa.internal.ChatService.service;

export interface WireInbound {
  conn: number;
  user: number;
  frame?: Uint8Array;
  connected?: boolean;
  disconnected?: boolean;
  hello?: { gateway_id: string; sessions: { conn: number; user: number }[] };
  recv_at_us: number;
  event?: 'frame' | 'connected' | 'disconnected' | 'hello';
}

export interface WireGatewayBatch {
  items: WireInbound[];
  sent_at_us: number;
}

export interface WireOutbound {
  frame: Uint8Array;
  users: number[];
  conns: number[];
  recv_at_us: number;
  close: boolean;
}

export interface WireChatBatch {
  items: WireOutbound[];
}

/** Channel options for the hot stream: big messages allowed (a batch), keepalive to notice dead peers. */
export const STREAM_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_time_between_pings_ms': 5_000,
};

/** Monotonic microseconds (CLOCK_MONOTONIC: comparable between processes on one machine). */
export function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
