// Proof of phone ownership before a token: a code is requested for a phone
// (rate limited per phone and per source address), sent by a CodeSender, and
// verified (attempts limited, codes expire); only then does Register mint a
// token. State is in this process's memory, bounded by registration_entries_max:
// a chat-service restart forgets outstanding codes (the user asks for another).
// In the multi-node topology a gateway sends both steps for one phone to the
// same chat node (server/gateway/cluster-router.ts: unaryByKey), so the code
// is found where it was issued.
import { randomInt, timingSafeEqual } from 'node:crypto';
import { WindowCounts } from '../../lib/window-counts';
import type { Limits } from '../common/config';
import { ErrorCode, ProtocolError } from '../common/errors';
import type { CodeSender } from './code-sender';

const HOUR_MS = 3600_000;
/** Six digits: what users type from an SMS; guessing is bounded by verification_attempts_max and the per-phone hourly codes. */
export const CODE_DIGITS = 6;

interface Pending {
  code: string;
  expiresAtMs: number;
  attemptsLeft: number;
}

export class PhoneVerification {
  private readonly pending = new Map<string, Pending>();
  private readonly perPhone: WindowCounts;
  private readonly perSource: WindowCounts;
  /** Counters for logs and tests. */
  readonly stats = { codesSent: 0, verified: 0, badCodes: 0, rateLimited: 0 };

  constructor(
    private readonly limits: Limits,
    private readonly sender: CodeSender,
  ) {
    this.perPhone = new WindowCounts(HOUR_MS, limits.registration_entries_max);
    this.perSource = new WindowCounts(HOUR_MS, limits.registration_entries_max);
  }

  /** Issue a code for `phone` (replacing an outstanding one); refused past the per-phone or per-source hourly limit. */
  request(phone: string, source: string, nowMs: number): { expiresInSeconds: number } | ProtocolError {
    const l = this.limits;
    if (!this.perSource.take(source, 1, l.registrations_per_source_per_hour_max, nowMs)) {
      return this.limited(`more than registrations_per_source_per_hour_max=${l.registrations_per_source_per_hour_max} from this address this hour`);
    }
    if (!this.perPhone.take(phone, 1, l.verification_codes_per_phone_per_hour_max, nowMs)) {
      return this.limited(`more than verification_codes_per_phone_per_hour_max=${l.verification_codes_per_phone_per_hour_max} codes for this phone this hour`);
    }
    const code = String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');
    const expiresAtMs = nowMs + l.verification_code_ttl_seconds * 1000;
    this.pending.delete(phone);
    this.pending.set(phone, { code, expiresAtMs, attemptsLeft: l.verification_attempts_max });
    while (this.pending.size > l.registration_entries_max) this.pending.delete(this.pending.keys().next().value!);
    this.sender.send(phone, code, expiresAtMs);
    this.stats.codesSent++;
    return { expiresInSeconds: l.verification_code_ttl_seconds };
  }

  /** Check `code` for `phone`: null when it is right (the code is used up), else why not. */
  verify(phone: string, code: string, source: string, nowMs: number): ProtocolError | null {
    const l = this.limits;
    if (!this.perSource.take(source, 1, l.registrations_per_source_per_hour_max, nowMs)) {
      return this.limited(`more than registrations_per_source_per_hour_max=${l.registrations_per_source_per_hour_max} from this address this hour`);
    }
    const p = this.pending.get(phone);
    if (!p || p.expiresAtMs <= nowMs) {
      this.pending.delete(phone);
      return new ProtocolError(ErrorCode.CODE_EXPIRED, 'no valid code for this phone: request one at POST /v1/register/code');
    }
    if (!sameCode(p.code, code)) {
      this.stats.badCodes++;
      p.attemptsLeft--;
      if (p.attemptsLeft > 0) return new ProtocolError(ErrorCode.BAD_CODE, `wrong code (${p.attemptsLeft} attempt(s) left)`);
      this.pending.delete(phone);
      return new ProtocolError(ErrorCode.TOO_MANY_ATTEMPTS, `verification_attempts_max=${l.verification_attempts_max} wrong codes: request a new one`);
    }
    this.pending.delete(phone);
    this.stats.verified++;
    return null;
  }

  /** Phones with a code outstanding (expired ones included until touched or evicted). */
  get pendingCount(): number {
    return this.pending.size;
  }

  private limited(message: string): ProtocolError {
    this.stats.rateLimited++;
    return new ProtocolError(ErrorCode.REGISTRATION_RATE_LIMITED, message);
  }
}

function sameCode(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
