// Validation of the key directory's frames (docs/design/021-e2ee.md): shape and
// size only, like validation.ts, whose clientFrameProblem calls these. The
// key sizes are the Signal protocol's, not tunables: a Curve25519 public key
// is 33 bytes (type byte 0x05 + 32), an XEdDSA signature 64, a Kyber-1024
// public key 1569 (type byte 0x08 + 1568). Whether a signature verifies is the
// chat service's to check (server/chat/keys.ts), once per upload.
import type { Limits } from './config';
import { ErrorCode, ProtocolError } from './errors';
import type { KeyBundleRequestBody, KeysUploadBody, OneTimePreKeyBody, SignedPreKeyBody } from './protocol';

export const KEY_SIZES = Object.freeze({
  ec_public_bytes: 33,
  ec_type_byte: 0x05,
  signature_bytes: 64,
  kem_public_bytes: 1569,
  kem_type_byte: 0x08,
});

/** libsignal's device ids are 1..127; how many a user may have is devices_per_user_max, checked by the chat service. */
const DEVICE_ID_MAX = 127;

/** A prekey id as libsignal takes it: a positive 24-bit number (Signal's clients wrap at 0xFFFFFF). */
const PREKEY_ID_MAX = 0xffffff;

export function keysUploadProblem(u: KeysUploadBody, limits: Limits): ProtocolError | null {
  if (!Number.isInteger(u.device_id) || u.device_id < 1 || u.device_id > DEVICE_ID_MAX) {
    return new ProtocolError(ErrorCode.INVALID_ARGUMENT, `device_id must be 1..${DEVICE_ID_MAX} (libsignal's range)`);
  }
  if (!Number.isInteger(u.registration_id) || u.registration_id < 1 || u.registration_id > 0x3fff) {
    return new ProtocolError(ErrorCode.INVALID_ARGUMENT, 'registration_id must be 1..16383 (libsignal\'s range)');
  }
  const id = ecKeyProblem(u.identity_key, 'identity_key');
  if (id) return id;
  if (u.signed_prekey) {
    const p = signedProblem(u.signed_prekey, 'signed_prekey', KEY_SIZES.ec_public_bytes, KEY_SIZES.ec_type_byte);
    if (p) return p;
  }
  if (u.kyber_prekey) {
    const p = signedProblem(u.kyber_prekey, 'kyber_prekey', KEY_SIZES.kem_public_bytes, KEY_SIZES.kem_type_byte);
    if (p) return p;
  }
  if (u.one_time_prekeys.length > limits.prekeys_per_upload_max) {
    return new ProtocolError(ErrorCode.TOO_MANY_PREKEYS, `${u.one_time_prekeys.length} one-time prekeys exceed prekeys_per_upload_max=${limits.prekeys_per_upload_max}`);
  }
  const ids = new Set<number>();
  for (const k of u.one_time_prekeys) {
    const p = oneTimeProblem(k);
    if (p) return p;
    if (ids.has(k.id)) return new ProtocolError(ErrorCode.INVALID_ARGUMENT, `one-time prekey id ${k.id} twice in one upload`);
    ids.add(k.id);
  }
  if (!u.signed_prekey && !u.kyber_prekey && u.one_time_prekeys.length === 0) {
    return new ProtocolError(ErrorCode.MISSING_FIELD, 'keys_upload carries no key to store');
  }
  return null;
}

export function keyBundleRequestProblem(r: KeyBundleRequestBody): ProtocolError | null {
  return Number.isSafeInteger(r.user) && r.user > 0 ? null : new ProtocolError(ErrorCode.MISSING_FIELD, 'key_bundle_request.user is required');
}

function prekeyIdProblem(id: number, field: string): ProtocolError | null {
  return Number.isInteger(id) && id >= 1 && id <= PREKEY_ID_MAX ? null : new ProtocolError(ErrorCode.INVALID_ARGUMENT, `${field}.id must be 1..${PREKEY_ID_MAX}`);
}

function ecKeyProblem(key: Uint8Array | undefined, field: string): ProtocolError | null {
  if (!key || key.length === 0) return new ProtocolError(ErrorCode.MISSING_FIELD, `${field} is required`);
  return keyBytesProblem(key, field, KEY_SIZES.ec_public_bytes, KEY_SIZES.ec_type_byte);
}

function keyBytesProblem(key: Uint8Array, field: string, bytes: number, typeByte: number): ProtocolError | null {
  if (key.length !== bytes || key[0] !== typeByte) {
    return new ProtocolError(ErrorCode.BAD_KEY, `${field} must be ${bytes} bytes starting with 0x${typeByte.toString(16).padStart(2, '0')}`);
  }
  return null;
}

function signedProblem(k: SignedPreKeyBody, field: string, bytes: number, typeByte: number): ProtocolError | null {
  const id = prekeyIdProblem(k.id, field);
  if (id) return id;
  if (!k.public_key || k.public_key.length === 0) return new ProtocolError(ErrorCode.MISSING_FIELD, `${field}.public_key is required`);
  const key = keyBytesProblem(k.public_key, `${field}.public_key`, bytes, typeByte);
  if (key) return key;
  if (!k.signature || k.signature.length !== KEY_SIZES.signature_bytes) {
    return new ProtocolError(ErrorCode.BAD_KEY, `${field}.signature must be ${KEY_SIZES.signature_bytes} bytes`);
  }
  return null;
}

function oneTimeProblem(k: OneTimePreKeyBody): ProtocolError | null {
  return prekeyIdProblem(k.id, 'one_time_prekey') ?? ecKeyProblem(k.public_key, 'one_time_prekey.public_key');
}
