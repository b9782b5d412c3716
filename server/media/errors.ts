// Media's refusals: a stable code the HTTP answer carries ({"error": CODE}) and
// its status. Kept apart from common/errors.ts (the WebSocket protocol's codes):
// media travels over plain HTTP only.

export const MediaCode = {
  /** 401: no token, or a bad or expired one. */
  UNAUTHENTICATED: ['UNAUTHENTICATED', '401 Unauthorized'],
  /** 403: the user is not a member of the chat the media is bound to. */
  NOT_A_MEMBER: ['NOT_A_MEMBER', '403 Forbidden'],
  /** 400: a field is missing or malformed (the message says which). */
  INVALID_ARGUMENT: ['INVALID_ARGUMENT', '400 Bad Request'],
  /** 415: a media kind other than image, video, audio, document. */
  UNSUPPORTED_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', '415 Unsupported Media Type'],
  /** 413: the declared size is over the kind's limit, or a chunk over media_chunk_bytes_max or past the declared size. */
  TOO_LARGE: ['TOO_LARGE', '413 Payload Too Large'],
  /** 404: no such upload session (never opened, another user's, finished, or dropped after media_upload_idle_seconds). */
  UPLOAD_NOT_FOUND: ['UPLOAD_NOT_FOUND', '404 Not Found'],
  /** 409: a chunk not at the committed offset (the answer carries it: resume from there), or one while another is in flight. */
  OFFSET_MISMATCH: ['OFFSET_MISMATCH', '409 Conflict'],
  /** 422: all bytes arrived but their SHA-256 is not the declared one; the session and its bytes are dropped. */
  HASH_MISMATCH: ['HASH_MISMATCH', '422 Unprocessable Entity'],
  /** 429: media_user_upload_sessions_max or media_upload_sessions_max open sessions. */
  TOO_MANY_UPLOADS: ['TOO_MANY_UPLOADS', '429 Too Many Requests'],
  /** 404: no such media in this chat (never posted there, or collected). */
  MEDIA_NOT_FOUND: ['MEDIA_NOT_FOUND', '404 Not Found'],
  /** 410: the media's retention ended; it is gone or about to be collected. */
  MEDIA_EXPIRED: ['MEDIA_EXPIRED', '410 Gone'],
  /** 416: a range outside the blob (the answer's Content-Range says its size). */
  RANGE_NOT_SATISFIABLE: ['RANGE_NOT_SATISFIABLE', '416 Range Not Satisfiable'],
  /** 503: the chat service or the blob store did not answer; retry. */
  UNAVAILABLE: ['UNAVAILABLE', '503 Service Unavailable'],
} as const;
export type MediaCode = (typeof MediaCode)[keyof typeof MediaCode];

export class MediaError extends Error {
  constructor(readonly code: MediaCode, message: string, readonly extra: Record<string, unknown> = {}) {
    super(message);
    this.name = 'MediaError';
  }
}
