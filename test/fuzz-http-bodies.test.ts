// Fuzz target: HTTP request bodies (POST /v1/register). The endpoint's body
// handling (server/gateway/register-endpoint.ts: size bound, JSON parse, shape
// check) runs in process against a recording stand-in for uWS's HttpResponse,
// fed chunk by chunk as uWS delivers them: JSON of every shape (objects whose
// fields are objects with "toString" keys, lists, numbers, deep nesting),
// almost-valid registrations, bad UTF-8, oversize bodies. Every body ends in
// exactly one answer (400, 413, or a call to the chat service with a checked
// registration), never a throw: a throw here ran inside uWS's callback and
// ended the gateway process. The real uWS server gets the same bodies in
// test/barrage.test.ts.
// Replay a failure: WA_FUZZ_SEED=<seed printed> node --test dist/test/fuzz-http-bodies.test.js
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { DEFAULT_LIMITS } from '../server/common/config';
import { ErrorCode, ProtocolError } from '../server/common/errors';
import { parseRegistration, type Registration } from '../server/common/validation';
import { handleRegister } from '../server/gateway/register-endpoint';
import { fuzz } from './fuzz/harness';

const L = DEFAULT_LIMITS;

interface Answer { status: string; body: string }

/** uWS's HttpResponse as handleRegister uses it, recording what is written. */
function recordingResponse(): { res: HttpResponse; answers: Answer[]; feed: (chunk: Uint8Array, last: boolean) => void; abort: () => void } {
  const answers: Answer[] = [];
  let status = '200 OK';
  let onData: ((chunk: ArrayBuffer, isLast: boolean) => void) | null = null;
  let onAborted: (() => void) | null = null;
  const res = {
    onAborted(cb: () => void) { onAborted = cb; return res; },
    onData(cb: (chunk: ArrayBuffer, isLast: boolean) => void) { onData = cb; return res; },
    cork(cb: () => void) { cb(); return res; },
    writeStatus(s: string) { status = s; return res; },
    writeHeader() { return res; },
    getRemoteAddressAsText() { return Buffer.from('127.0.0.1'); },
    end(body: string) { answers.push({ status, body: String(body ?? '') }); return res; },
  };
  return {
    res: res as unknown as HttpResponse,
    answers,
    // uWS hands a view of its own buffer, valid only during the call: a fresh ArrayBuffer each time.
    feed: (chunk, last) => onData!(Uint8Array.from(chunk).buffer, last),
    abort: () => onAborted?.(),
  };
}

/** Send `body` in `cuts` pieces; resolves with the answers and what reached the chat service. */
async function post(body: Uint8Array, cuts: number[]): Promise<{ answers: Answer[]; registered: Registration[] }> {
  const registered: Registration[] = [];
  const r = recordingResponse();
  const req = { getHeader: () => '' } as unknown as HttpRequest;
  handleRegister(r.res, req, { limits: L, trustedProxies: new Set() }, async (reg) => {
    registered.push(reg);
    return { user_id: 1, token: 't', error_code: '', error_message: '' };
  });
  const points = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
  let at = 0;
  for (const p of points) {
    if (p <= at || p >= body.length) continue;
    r.feed(body.subarray(at, p), false);
    at = p;
  }
  r.feed(body.subarray(at), true);
  await new Promise((resolve) => setImmediate(resolve));
  return { answers: r.answers, registered };
}

const phone = fc.oneof(fc.constantFrom('+14155550123', '+1415555012', '+0123456789', '4155550123', '', '+1'.padEnd(17, '9')), fc.string({ maxLength: 20 }));
const name = fc.oneof(fc.constantFrom('Ann', '', 'x'.repeat(64), 'x'.repeat(65), '\uD800', 'a\uDC00b', '\u{1F600}'.repeat(16), '\u{1F600}'.repeat(17)), fc.string({ maxLength: 70 }));
const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom({ toString: 1 }, { toString: 'x', valueOf: 2 }, { __proto__: null }, [], [[]], { phone: { toString: 1 } }),
);
/** Registration-shaped objects: right fields with wrong types, extra fields, proto-ish keys. */
const code = fc.oneof(fc.constantFrom('123456', '1234', '12345678901', '12a456', ''), fc.string({ maxLength: 12 }));
const registrationish = fc.record({
  phone: fc.oneof(phone, hostileValue),
  display_name: fc.oneof(name, hostileValue),
  code: fc.oneof(code, hostileValue),
  extra: fc.option(hostileValue),
}, { requiredKeys: [] });

/** A body as bytes: JSON of any shape, almost-valid JSON, bad UTF-8, or past the size bound. */
const body: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: registrationish.map((o) => Buffer.from(JSON.stringify(o))) },
  { weight: 2, arbitrary: hostileValue.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
  { weight: 1, arbitrary: fc.tuple(registrationish, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([o, at, b]) => {
    const bytes = Buffer.from(JSON.stringify(o));
    if (bytes.length > 0) bytes[at % bytes.length] = b; // one byte replaced: often invalid JSON or invalid UTF-8
    return bytes;
  }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: L.register_body_bytes_max - 8, max: L.register_body_bytes_max * 3 }).map((n) =>
    Buffer.from(JSON.stringify({ phone: '+14155550123', display_name: 'Ann', code: '123456', pad: 'p'.repeat(n) }))) },
);

describe('registration bodies: regressions found by fuzzing', () => {
  test('regression: a field that is an object with a "toString" key gets INVALID_ARGUMENT (String() on it threw and ended the gateway)', () => {
    for (const b of [{ phone: { toString: 1 } }, { phone: '+14155550123', display_name: { toString: 1 } }, { phone: { valueOf: 1, toString: 1 } }]) {
      const r = parseRegistration(JSON.parse(JSON.stringify(b)), L);
      assert.ok(r instanceof ProtocolError && r.code === ErrorCode.INVALID_ARGUMENT, JSON.stringify(b));
      assert.match(r.message, /body\.(phone|display_name): expected a string/);
    }
  });

  test('regression: a phone given as a number is refused, not registered as its digits', () => {
    const r = parseRegistration({ phone: 14155550123, display_name: 'Ann' }, L);
    assert.ok(r instanceof ProtocolError);
    assert.match(r.message, /body\.phone: expected a string.*the number 14155550123/);
  });

  test('regression: a display name with a lone surrogate ("\\ud800" in JSON) is refused', () => {
    const r = parseRegistration(JSON.parse('{"phone":"+14155550123","display_name":"a\\ud800"}'), L);
    assert.ok(r instanceof ProtocolError && r.code === ErrorCode.INVALID_ARGUMENT);
  });
});

describe('fuzz: HTTP request bodies', () => {
  test('any body, in any chunks, gets exactly one answer (400, 413 or a checked registration), never a throw', async () => {
    await fuzz('http-register-body', 1500, fc.asyncProperty(body, fc.array(fc.nat(), { maxLength: 4 }), async (bytes, cuts) => {
      const { answers, registered } = await post(bytes, cuts);
      assert.equal(answers.length, 1, `one answer, got ${JSON.stringify(answers)}`);
      const a = answers[0]!;
      if (bytes.length > L.register_body_bytes_max) {
        assert.match(a.status, /^413/);
        assert.equal(registered.length, 0);
        return;
      }
      if (registered.length === 1) {
        assert.match(a.status, /^200/);
        const reg = registered[0]!;
        assert.match(reg.phone, /^\+[1-9][0-9]{6,14}$/);
        assert.equal(typeof reg.display_name, 'string');
        assert.ok(reg.display_name.length > 0 && Buffer.byteLength(reg.display_name) <= L.display_name_bytes_max);
        assert.equal(Buffer.from(reg.display_name).toString(), reg.display_name, 'the name survives UTF-8');
        assert.match(reg.code, /^[0-9]{4,10}$/);
      } else {
        assert.equal(registered.length, 0);
        assert.match(a.status, /^400/);
        // MISSING_FIELD: a well-shaped body without a code (the one-step registration of old clients).
        assert.ok(([ErrorCode.INVALID_ARGUMENT, ErrorCode.MISSING_FIELD] as string[]).includes((JSON.parse(a.body) as { error: string }).error), a.body);
      }
    }));
  });

  test('parseRegistration on any JSON value answers a registration, INVALID_ARGUMENT or MISSING_FIELD (no code)', async () => {
    await fuzz('parse-registration', 2000, fc.property(fc.oneof(registrationish, hostileValue), (v) => {
      const r = parseRegistration(v, L);
      if (r instanceof ProtocolError) assert.ok(r.code === ErrorCode.INVALID_ARGUMENT || r.code === ErrorCode.MISSING_FIELD, r.code);
      else assert.equal(typeof r.phone, 'string');
    }));
  });
});
