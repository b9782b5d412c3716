// Validation of everything a client sends: pure functions, one error code per
// condition, nothing else. The gateway runs them at the edge on every decoded
// frame (and on registrations); the chat service's wire decoder runs the same
// functions on what arrives over its gRPC port, so a frame that reaches the
// engine is well-formed and the engine only asserts it (server/chat).
//
// What is checked here is shape and size: a field present, a string within its
// byte limit, a list within its count limit, an enum value known. What needs
// state (does the user exist, is the sender a member, is the group full now,
// is it a send to oneself) is the chat engine's to decide.
//
// Cost: a few comparisons and Buffer.byteLength calls per frame; an error is
// built only when a check fails.
import { obj, optional, shapeOf, ShapeError, str } from '../../lib/shape';
import type { Limits } from './config';
import { ErrorCode, ProtocolError } from './errors';
import { keyBundleRequestProblem, keysUploadProblem } from './validation-keys';
import { GroupChangeKind, LastSeenPrivacy, type ClientFrame, type CreateGroupBody, type GroupChangeBody, type SendBody } from './protocol';

/** A user id as the protocol carries it: a positive safe integer (0 is "absent"). */
export function isUserId(u: number): boolean {
  return Number.isSafeInteger(u) && u > 0;
}

/** The first problem of a decoded client frame, or null when it is well-formed within `limits`. */
export function clientFrameProblem(frame: ClientFrame, limits: Limits): ProtocolError | null {
  switch (frame.body) {
    case 'send':
      return sendProblem(frame.send, limits);
    case 'ack':
      return chatIdProblem(frame.ack.chat_id, 'ack.chat_id', limits);
    case 'history':
      return chatIdProblem(frame.history.chat_id, 'history.chat_id', limits);
    case 'presence_subscribe':
      return presenceProblem(frame.presence_subscribe.user_ids, limits);
    case 'create_group':
      return createGroupProblem(frame.create_group, limits);
    case 'group_change':
      return groupChangeProblem(frame.group_change, limits);
    case 'group_info':
      return chatIdProblem(frame.group_info.chat_id, 'group_info.chat_id', limits);
    case 'message_info':
      return chatIdProblem(frame.message_info.chat_id, 'message_info.chat_id', limits);
    case 'set_privacy':
      return PRIVACY_VALUES.has(frame.set_privacy.last_seen) ? null : new ProtocolError(ErrorCode.INVALID_ARGUMENT, `unknown last_seen privacy ${frame.set_privacy.last_seen}`);
    case 'keys_upload':
      return keysUploadProblem(frame.keys_upload, limits);
    case 'key_bundle_request':
      return keyBundleRequestProblem(frame.key_bundle_request);
    case 'ping':
      return null;
    default:
      return new ProtocolError(ErrorCode.UNKNOWN_TYPE, 'unknown frame type');
  }
}

export function sendProblem(s: SendBody, limits: Limits): ProtocolError | null {
  if (s.body.length > limits.text_bytes_max) {
    return new ProtocolError(ErrorCode.TEXT_TOO_LONG, `body of ${s.body.length} bytes exceeds text_bytes_max=${limits.text_bytes_max}`);
  }
  if (!s.client_msg_id) return new ProtocolError(ErrorCode.MISSING_FIELD, 'send.client_msg_id is required');
  if (Buffer.byteLength(s.client_msg_id) > limits.client_msg_id_bytes_max) {
    return new ProtocolError(ErrorCode.FIELD_TOO_LONG, `client_msg_id longer than client_msg_id_bytes_max=${limits.client_msg_id_bytes_max}`);
  }
  if (s.chat_id) return chatIdProblem(s.chat_id, 'send.chat_id', limits);
  if (!isUserId(s.to_user)) return new ProtocolError(ErrorCode.MISSING_FIELD, 'send needs to_user (or chat_id)');
  return null;
}

export function chatIdProblem(chatId: string, field: string, limits: Limits): ProtocolError | null {
  if (!chatId) return new ProtocolError(ErrorCode.MISSING_FIELD, `${field} is required`);
  if (Buffer.byteLength(chatId) > limits.chat_id_bytes_max) {
    return new ProtocolError(ErrorCode.FIELD_TOO_LONG, `${field} longer than chat_id_bytes_max=${limits.chat_id_bytes_max}`);
  }
  return null;
}

export function presenceProblem(userIds: readonly number[], limits: Limits): ProtocolError | null {
  if (userIds.length > limits.presence_watch_max) {
    return new ProtocolError(ErrorCode.TOO_MANY_WATCHED, `${userIds.length} users exceed presence_watch_max=${limits.presence_watch_max}`);
  }
  return null;
}

export function groupNameProblem(name: string, limits: Limits): ProtocolError | null {
  if (Buffer.byteLength(name) > limits.group_name_bytes_max) {
    return new ProtocolError(ErrorCode.FIELD_TOO_LONG, `group name longer than group_name_bytes_max=${limits.group_name_bytes_max}`);
  }
  return null;
}

export function createGroupProblem(g: CreateGroupBody, limits: Limits): ProtocolError | null {
  const name = groupNameProblem(g.name ?? '', limits);
  if (name) return name;
  // Counted as sent (duplicates and the creator included): the engine's count after de-duplication is never larger.
  if (g.members.length + 1 > limits.group_members_max) {
    return new ProtocolError(ErrorCode.GROUP_FULL, `${g.members.length + 1} members exceed group_members_max=${limits.group_members_max}`);
  }
  return null;
}

const PRIVACY_VALUES: ReadonlySet<number> = new Set(Object.values(LastSeenPrivacy));

const GROUP_CHANGE_KINDS: ReadonlySet<number> = new Set([
  GroupChangeKind.ADD, GroupChangeKind.REMOVE, GroupChangeKind.PROMOTE, GroupChangeKind.DEMOTE, GroupChangeKind.LEAVE, GroupChangeKind.RENAME,
]);

export function groupChangeProblem(g: GroupChangeBody, limits: Limits): ProtocolError | null {
  const chat = chatIdProblem(g.chat_id, 'group_change.chat_id', limits);
  if (chat) return chat;
  if (!GROUP_CHANGE_KINDS.has(g.kind)) return new ProtocolError(ErrorCode.INVALID_ARGUMENT, `unknown group change kind ${g.kind}`);
  if (g.users.length > limits.group_members_max) {
    return new ProtocolError(ErrorCode.INVALID_ARGUMENT, `more than group_members_max=${limits.group_members_max} users in one change`);
  }
  return groupNameProblem(g.name ?? '', limits);
}

// ---------------------------------------------------------------- registration and provisioning (HTTP and gRPC control calls)

const PHONE_RE = /^\+[1-9][0-9]{6,14}$/; // E.164

export interface Registration {
  phone: string;
  display_name: string;
  /** The verification code sent to the phone (verificationCodeProblem checks its shape). */
  code: string;
}

/** E.164 is at most 15 digits after the "+": anything longer is refused before the pattern runs. */
const PHONE_BYTES_MAX = 16;

/**
 * A registration request body as parsed JSON (anything: null, a list, a field that is an object
 * with a "toString" key): the registration, or the problem. Checked by shape (lib/shape.ts), never
 * coerced: String() on a parsed object can throw, and would register 123 as "123".
 */
export function parseRegistration(body: unknown, limits: Limits): Registration | ProtocolError {
  const shaped = shapeOf(obj({
    phone: str({ bytesMax: PHONE_BYTES_MAX }),
    display_name: str({ bytesMax: limits.display_name_bytes_max }),
    // Absent: MISSING_FIELD from registrationOf (the one-step body of old clients), not a shape error.
    code: optional(str({ bytesMax: CODE_BYTES_MAX })),
  }), body, 'body');
  if (shaped instanceof ShapeError) return new ProtocolError(ErrorCode.INVALID_ARGUMENT, shaped.message);
  return registrationOf(shaped.phone, shaped.display_name, shaped.code ?? '', limits);
}

export function registrationOf(phone: string, displayName: string, code: string, limits: Limits): Registration | ProtocolError {
  if (!PHONE_RE.test(phone)) return new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'phone must be E.164, e.g. +14155550123');
  if (displayName.length === 0 || Buffer.byteLength(displayName) > limits.display_name_bytes_max) {
    return new ProtocolError(ErrorCode.INVALID_ARGUMENT, `display_name must be 1..${limits.display_name_bytes_max} bytes`);
  }
  if (!code) return new ProtocolError(ErrorCode.MISSING_FIELD, 'code is required: request one at POST /v1/register/code, it is sent to the phone');
  if (!CODE_RE.test(code)) return new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'code must be 4..10 digits');
  return { phone, display_name: displayName, code };
}

/** The digits a verification code may have (server/chat/verification.ts sends 6). */
const CODE_RE = /^[0-9]{4,10}$/;
const CODE_BYTES_MAX = 10;

/** A code request body as parsed JSON (anything): the phone, or the problem; shape-checked like a registration. */
export function parseCodeRequest(body: unknown): { phone: string } | ProtocolError {
  const shaped = shapeOf(obj({ phone: str({ bytesMax: PHONE_BYTES_MAX }) }), body, 'body');
  if (shaped instanceof ShapeError) return new ProtocolError(ErrorCode.INVALID_ARGUMENT, shaped.message);
  return phoneOf(shaped.phone);
}

export function phoneOf(phone: string): { phone: string } | ProtocolError {
  return PHONE_RE.test(phone) ? { phone } : new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'phone must be E.164, e.g. +14155550123');
}

/** A client's source address as a gateway passes it: bounded, printable (it keys a rate-limit table). */
export function sourceOf(source: string): string {
  return /^[0-9A-Fa-f:.]{1,64}$/.test(source) ? source : 'unknown';
}

/** Bulk provisioning of load-test users: ids at or above `idMin`, at most provision_users_per_call_max per call. */
export function provisionProblem(first: number, count: number, idMin: number, limits: Limits): ProtocolError | null {
  if (!Number.isSafeInteger(first) || first < idMin || !Number.isSafeInteger(count) || count < 1 || count > limits.provision_users_per_call_max) {
    return new ProtocolError(ErrorCode.INVALID_ARGUMENT, `provision: first_user >= ${idMin}, count 1..${limits.provision_users_per_call_max}`);
  }
  return null;
}
