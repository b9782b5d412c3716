// Stable error codes carried to clients in Error frames (and close codes for
// the few cases that end a connection). Clients switch on `code`, never on the
// human-readable message.

export const ErrorCode = {
  MALFORMED_FRAME: 'MALFORMED_FRAME',
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  BATCH_TOO_LARGE: 'BATCH_TOO_LARGE',
  TEXT_TOO_LONG: 'TEXT_TOO_LONG',
  FIELD_TOO_LONG: 'FIELD_TOO_LONG',
  MISSING_FIELD: 'MISSING_FIELD',
  UNKNOWN_USER: 'UNKNOWN_USER',
  SELF_SEND: 'SELF_SEND',
  NOT_A_PARTICIPANT: 'NOT_A_PARTICIPANT',
  NOT_ADMIN: 'NOT_ADMIN',
  GROUP_FULL: 'GROUP_FULL',
  UNKNOWN_CHAT: 'UNKNOWN_CHAT',
  RATE_LIMITED: 'RATE_LIMITED',
  QUEUE_FULL: 'QUEUE_FULL',
  TOO_MANY_WATCHED: 'TOO_MANY_WATCHED',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes we use (4000-4999 is the application range). */
export const CloseCode = {
  /** RFC 6455: message too big (uWS sends it when frame_bytes_max is exceeded). */
  MESSAGE_TOO_BIG: 1009,
  /** The socket's send buffer passed socket_backpressure_bytes_max. Reconnect and resync. */
  BACKPRESSURE: 4008,
  /** The client sent a text frame; the protocol is binary protobuf. */
  TEXT_FRAME: 4003,
  /** RFC 6455 "internal error": handling this connection's message failed unexpectedly; the others are unaffected. */
  INTERNAL_ERROR: 1011,
  /** Gateway is shutting down or lost its chat service. */
  GOING_AWAY: 1001,
  /** RFC 6455 "service restart": a chat node died or gave up a partition with this connection's frames unhandled; reconnect and resend what is unacknowledged, in order. */
  CHAT_NODE_CHANGED: 1012,
} as const;

export class ProtocolError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}
