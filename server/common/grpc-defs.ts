// The internal gRPC service definition, loaded from proto/chat_service.proto.
// Unary control calls use @grpc/proto-loader's plain objects. The hot Connect
// stream uses hand codecs (./codec/grpc-batches.ts, byte for byte protobufjs's
// output; docs/design/024-hand-codecs.md): proto-loader converts every message
// with toObject/fromObject on top of encode/decode, which doubled the per-item
// cost of the stream, and protobufjs's own Writer/Reader and generated
// functions were the next largest cost of an item in profiles.
// Longs are numbers (ids stay below 2^53; see ./protocol.ts, which switches
// protobufjs's Long support off for the whole process).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { GRPC_KEEPALIVE, type Limits } from './config';
import { PROTO_DIR } from './paths';
import { decodeChatBatch, decodeGatewayBatch, encodeChatBatch, encodeGatewayBatch, type WireChatBatch, type WireGatewayBatch, type WireOutbound } from './codec/grpc-batches';
import './protocol';

export type { WireChatBatch, WireGatewayBatch, WireInbound, WireOutbound } from './codec/grpc-batches';

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

const loaded = pkg.wa.internal.ChatService.service;
export const chatServiceDefinition: grpc.ServiceDefinition = {
  ...loaded,
  Connect: {
    ...loaded.Connect!,
    requestSerialize: (v: object) => encodeGatewayBatch(v as WireGatewayBatch),
    requestDeserialize: (b: Buffer) => decodeGatewayBatch(b),
    responseSerialize: (v: object) => encodeChatBatch(v as WireChatBatch),
    responseDeserialize: (b: Buffer) => decodeChatBatch(b),
  },
};
export const ChatServiceClient = grpc.makeGenericClientConstructor(chatServiceDefinition, 'ChatService');

/**
 * Whether a decoded ChatBatch item can be delivered as is (the gateway's check on what a chat node
 * sends: protobufjs fills an absent bytes field with an empty array, not a Uint8Array, and a uint64
 * recv_at_us may be past 2^53). A bad recv_at_us is zeroed (no latency sample); a bad frame drops the item.
 */
export function outboundItemOk(item: WireOutbound): boolean {
  if (!(item.frame instanceof Uint8Array) || item.frame.length === 0) return false;
  if (!Number.isSafeInteger(item.recv_at_us) || item.recv_at_us < 0) item.recv_at_us = 0;
  return Array.isArray(item.users) && Array.isArray(item.conns);
}

/** Channel options for the hot stream: big messages allowed (a batch), keepalive to notice dead peers. */
export function streamChannelOptions(limits: Pick<Limits, 'grpc_message_bytes_max' | 'chat_link_retry_ms_max'>): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': limits.grpc_message_bytes_max,
    'grpc.max_send_message_length': limits.grpc_message_bytes_max,
    'grpc.keepalive_time_ms': GRPC_KEEPALIVE.ping_interval_ms,
    'grpc.keepalive_timeout_ms': GRPC_KEEPALIVE.ping_timeout_ms,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_time_between_pings_ms': GRPC_KEEPALIVE.ping_timeout_ms,
    // grpc-js's channel backoff grows to minutes by default; a restarted chat
    // service must be found again within a couple of seconds.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': limits.chat_link_retry_ms_max,
  };
}

/** Monotonic microseconds (CLOCK_MONOTONIC: comparable between processes on one machine). */
export function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
