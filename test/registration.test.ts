// Registration needs proof of phone ownership (issue 15): a code is requested
// for a phone, sent by the chat service's code sender (the local default
// writes it to a file in the run's data dir), and only the right code, within
// its lifetime and its attempts, gets a token. Rate limits per phone and per
// source address; re-registration adds a device; the bulk provisioning path is
// off unless a test-only variable turns it on. A real chat service and gateway.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ChatClient } from '../loadgen/client/chat-client';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { ErrorCode } from '../server/common/errors';
import { ChatServiceClient } from '../server/common/grpc-defs';
import { clientProof, PEER_AUTH_HEADER, peerKey } from '../server/common/peer-auth';
import { PROVISIONED_USER_ID_MIN } from '../server/common/ids';
import { connectUser, sleep, text, waitFor } from './helpers/system';
import { codesSentTo, freshCode, register, registerVerified, requestCode, REG_WAIT_MS } from './helpers/registration';

const CODE_TTL_SECONDS = 3;
const PROXY = '127.0.9.250';
const ENV = {
  WA_VERIFICATION_CODE_TTL_SECONDS: String(CODE_TTL_SECONDS),
  WA_VERIFICATION_ATTEMPTS_MAX: '3',
  WA_VERIFICATION_CODES_PER_PHONE_PER_HOUR_MAX: '3',
  WA_REGISTRATIONS_PER_SOURCE_PER_HOUR_MAX: '6',
  // The production default: no bulk path.
  WA_LOADTEST_PROVISIONING: '0',
  // Plays the load balancer: its X-Forwarded-For names the client.
  WA_TRUSTED_PROXIES: PROXY,
};

let phoneN = 14155550000 + (Date.now() % 9000);
function newPhone(): string {
  return `+${phoneN++}`;
}

/** Each test speaks from its own loopback address, so the per-source limit of one does not spill into the next. */
let sourceN = 10;
function newSource(): string {
  return `127.0.${Math.floor(sourceN / 250)}.${(sourceN++ % 250) + 2}`;
}

describe('registration with a verification code', { timeout: 60_000 }, () => {
  let sys: RunningSystem;
  before(async () => {
    sys = await startSystem({ env: ENV });
  });
  after(async () => {
    await sys?.stop();
  });

  it('says loudly at start where codes go, and writes each code there', async () => {
    assert.match(sys.chat.output.join(''), /VERIFICATION CODES ARE WRITTEN TO .*verification-codes\.log/);
    const phone = newPhone();
    const r = await requestCode(sys, phone, newSource());
    assert.equal(r.status, 200, r.raw);
    assert.equal(r.json?.expires_in_seconds, CODE_TTL_SECONDS);
    await waitFor(() => codesSentTo(sys, phone).length === 1, REG_WAIT_MS, 'the code in the file');
    assert.match(codesSentTo(sys, phone)[0]!, /^[0-9]{6}$/);
  });

  it('an already-registered phone without a code, or with a wrong one, gets no token (no account takeover)', async () => {
    const from = newSource();
    const phone = newPhone();
    const owner = await registerVerified(sys, phone, 'Owner', from);
    const noCode = await register(sys, phone, 'Thief', '', from);
    assert.equal(noCode.status, 400, noCode.raw);
    assert.equal(noCode.json?.error, ErrorCode.MISSING_FIELD);
    assert.equal(noCode.json?.token, undefined);
    // The old one-step body (phone and name only) is refused the same way.
    const oldStyle = await (await fetch(`${sys.gatewayHttp(0)}/v1/register`, { method: 'POST', body: JSON.stringify({ phone, display_name: 'Thief' }) })).json() as Record<string, unknown>;
    assert.equal(oldStyle.token, undefined);
    assert.equal(oldStyle.error, ErrorCode.MISSING_FIELD);
    // A code the thief requests goes to the owner's phone; a guess is refused.
    await requestCode(sys, phone, from);
    const right = codesSentTo(sys, phone).at(-1)!;
    const guess = right === '000000' ? '111111' : '000000';
    const wrong = await register(sys, phone, 'Thief', guess, from);
    assert.equal(wrong.status, 401, wrong.raw);
    assert.equal(wrong.json?.error, ErrorCode.BAD_CODE);
    assert.equal(wrong.json?.token, undefined);
    assert.ok(owner.userId > 0);
  });

  it('the right code gets a token that opens a WebSocket; the code then is used up', async () => {
    const from = newSource();
    const phone = newPhone();
    const code = await freshCode(sys, phone, from);
    const ok = await register(sys, phone, 'Ann', code, from);
    assert.equal(ok.status, 200, ok.raw);
    const userId = ok.json?.user_id as number;
    assert.ok(Number.isSafeInteger(userId) && userId > 0 && userId < PROVISIONED_USER_ID_MIN);
    const ann = await ChatClient.connect({ url: sys.gatewayUrl, token: ok.json?.token as string, requestTimeoutMs: REG_WAIT_MS });
    try {
      await ann.ping();
    } finally {
      ann.close();
    }
    const replay = await register(sys, phone, 'Ann', code, from);
    assert.equal(replay.status, 401);
    assert.equal(replay.json?.error, ErrorCode.CODE_EXPIRED);
  });

  it('verification_attempts_max wrong codes drop the code: even the right one is refused afterwards', async () => {
    const from = newSource();
    const phone = newPhone();
    const code = await freshCode(sys, phone, from);
    const wrongCode = code === '999999' ? '999998' : '999999';
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) answers.push((await register(sys, phone, 'Bob', wrongCode, from)).json?.error as string);
    assert.deepEqual(answers, [ErrorCode.BAD_CODE, ErrorCode.BAD_CODE, ErrorCode.TOO_MANY_ATTEMPTS]);
    const late = await register(sys, phone, 'Bob', code, from);
    assert.equal(late.status, 401);
    assert.equal(late.json?.error, ErrorCode.CODE_EXPIRED);
  });

  it('a code expires after verification_code_ttl_seconds', async () => {
    const from = newSource();
    const phone = newPhone();
    const code = await freshCode(sys, phone, from);
    await sleep(CODE_TTL_SECONDS * 1000 + 300);
    const late = await register(sys, phone, 'Cy', code, from);
    assert.equal(late.status, 401, late.raw);
    assert.equal(late.json?.error, ErrorCode.CODE_EXPIRED);
  });

  it('codes per phone per hour are limited (429 REGISTRATION_RATE_LIMITED), whatever the source address', async () => {
    const phone = newPhone();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await requestCode(sys, phone, newSource())).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const r = await requestCode(sys, phone, newSource());
    assert.equal(r.json?.error, ErrorCode.REGISTRATION_RATE_LIMITED);
    assert.equal(codesSentTo(sys, phone).length, 3, 'no code was sent past the limit');
  });

  it('requests per source address per hour are limited; another address is still served', async () => {
    const from = newSource();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await requestCode(sys, newPhone(), from)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429]);
    assert.equal((await requestCode(sys, newPhone(), newSource())).status, 200);
  });

  it('X-Forwarded-For counts only from a trusted proxy (its last entry); from anyone else the peer address counts', async () => {
    const forged = newSource();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await requestCode(sys, newPhone(), forged, { 'x-forwarded-for': `10.9.9.${i}` })).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429], 'a forged header from a client does not escape its limit');
    const viaProxy: number[] = [];
    for (let i = 0; i < 7; i++) viaProxy.push((await requestCode(sys, newPhone(), PROXY, { 'x-forwarded-for': `1.2.3.${i}, 10.8.8.1` })).status);
    assert.deepEqual(viaProxy, [200, 200, 200, 200, 200, 200, 429], 'the client the proxy names (the last entry) is limited');
    assert.equal((await requestCode(sys, newPhone(), PROXY, { 'x-forwarded-for': '10.8.8.2' })).status, 200, 'another client behind the proxy is not');
  });

  it('re-registering a number adds a device: the same user id, and both tokens are served and receive', async () => {
    const from = newSource();
    const phone = newPhone();
    const first = await registerVerified(sys, phone, 'Dee', from);
    const second = await registerVerified(sys, phone, 'Dee', from);
    assert.equal(second.userId, first.userId);
    // (Tokens carry the user and an expiry, no device: two minted in the same second are the same string.)
    const phoneA = await ChatClient.connect({ url: sys.gatewayUrl, token: first.token, requestTimeoutMs: REG_WAIT_MS });
    const phoneB = await ChatClient.connect({ url: sys.gatewayUrl, token: second.token, requestTimeoutMs: REG_WAIT_MS });
    const got: string[] = [];
    phoneA.onFrame = (f) => f.body === 'message' && got.push('A');
    phoneB.onFrame = (f) => f.body === 'message' && got.push('B');
    const friend = await connectUser(sys);
    try {
      await phoneA.ping();
      await phoneB.ping();
      await friend.send(first.userId, text('to both devices'));
      await waitFor(() => got.includes('A') && got.includes('B'), REG_WAIT_MS, 'delivery to both devices');
    } finally {
      phoneA.close();
      phoneB.close();
      friend.close();
    }
  });

  it('the bulk ProvisionUsers path is refused without WA_LOADTEST_PROVISIONING=1, naming the variable', async () => {
    const client = new ChatServiceClient(sys.chatTarget, grpc.credentials.createInsecure()) as unknown as grpc.Client &
      { ProvisionUsers: (r: object, md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void };
    const md = new grpc.Metadata();
    md.set(PEER_AUTH_HEADER, clientProof(peerKey(sys.secret), 'test').proof);
    try {
      const err = await new Promise<grpc.ServiceError | null>((resolve) => client.ProvisionUsers({ first_user: PROVISIONED_USER_ID_MIN + 5, count: 2 }, md, resolve));
      assert.ok(err, 'refused');
      assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
      assert.match(err.details, /WA_LOADTEST_PROVISIONING=1/);
    } finally {
      client.close();
    }
  });
});
