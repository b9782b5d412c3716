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
  /** Upgrade refused (HTTP 429): the user already holds user_connections_max connections on this gateway. */
  TOO_MANY_CONNECTIONS: 'TOO_MANY_CONNECTIONS',
  /** user_groups_created_per_hour_max or user_group_members_added_per_hour_max reached: retry later. */
  GROUP_RATE_LIMITED: 'GROUP_RATE_LIMITED',
  /** Registration (HTTP 429): too many codes for this phone, or too many requests from this source address, this hour. */
  REGISTRATION_RATE_LIMITED: 'REGISTRATION_RATE_LIMITED',
  /** Registration (HTTP 401): the code is wrong. */
  BAD_CODE: 'BAD_CODE',
  /** Registration (HTTP 401): no code outstanding for this phone (never requested, expired, or used up): request a new one. */
  CODE_EXPIRED: 'CODE_EXPIRED',
  /** Registration (HTTP 429): verification_attempts_max wrong guesses; the code is dropped, request a new one. */
  TOO_MANY_ATTEMPTS: 'TOO_MANY_ATTEMPTS',
  /** Presence: the watched user shares no chat with the asker; nothing about them is sent. */
  PRESENCE_NOT_ALLOWED: 'PRESENCE_NOT_ALLOWED',
  /** Key directory: a key of the wrong size or type, or a signature that the identity key does not verify; nothing stored. */
  BAD_KEY: 'BAD_KEY',
  /** Key directory: more one-time prekeys than prekeys_per_upload_max in one upload, or than prekeys_per_device_max held. */
  TOO_MANY_PREKEYS: 'TOO_MANY_PREKEYS',
  /** Key directory: a new device past devices_per_user_max. */
  TOO_MANY_DEVICES: 'TOO_MANY_DEVICES',
  /** Key directory: key_fetches_per_user_per_second_max or key_uploads_per_user_per_hour_max reached: retry later. */
  KEY_RATE_LIMITED: 'KEY_RATE_LIMITED',
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
