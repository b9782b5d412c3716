// libsignal's cost per message as our client module drives it (loadgen/client/e2ee):
// encrypt and decrypt µs per message on an established session, one direction
// (the symmetric ratchet only) and alternating (every message turns the DH
// ratchet), and the bytes the envelope adds over the plaintext (first message:
// PreKeySignalMessage with the PQXDH KEM ciphertext; later: SignalMessage).
// Process CPU, not wall time: the machine is shared. Rounds are reported as median.
import { E2eeDevice, type Ciphertext } from '../loadgen/client/e2ee/device';
import { encodeEnvelope } from '../loadgen/client/e2ee/envelope';
import { median } from '../lib/stats';

export interface CryptoFigures {
  plaintext_bytes: number;
  encrypt_us: number;
  decrypt_us: number;
  encrypt_decrypt_us: number;
  encrypt_decrypt_alternating_us: number;
  overhead_first_bytes: number;
  overhead_steady_bytes: number;
  session_setup_us: number;
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function pair(): Promise<{ a: E2eeDevice; b: E2eeDevice; firstOverhead: number; setupUs: number; plaintext: Uint8Array }> {
  const a = new E2eeDevice(1, 1);
  const b = new E2eeDevice(2, 1);
  const up = await b.registrationUpload(1);
  const t0 = cpuUs();
  await a.startSession(2, {
    device_id: 1, registration_id: up.registration_id, identity_key: up.identity_key,
    signed_prekey: up.signed_prekey!, kyber_prekey: up.kyber_prekey!, one_time_prekey: up.one_time_prekeys[0]!,
  });
  const first = await a.encrypt(2, 1, Buffer.from('hello'));
  await b.decrypt(1, 1, first);
  const setupUs = cpuUs() - t0;
  // One reply turns the ratchet: from here on both send SignalMessages.
  await a.decrypt(2, 1, await b.encrypt(1, 1, Buffer.from('hi')));
  return { a, b, setupUs, firstOverhead: envelopeBytes(first) - 5, plaintext: Buffer.from('hello') };
}

function envelopeBytes(c: Ciphertext): number {
  return encodeEnvelope(1, new Map([[1, c]])).length;
}

async function oneRound(messages: number, plaintext: Uint8Array, alternating: boolean): Promise<{ enc: number; dec: number; overhead: number }> {
  const { a, b } = await pair();
  let enc = 0;
  let dec = 0;
  let overhead = 0;
  for (let i = 0; i < messages; i++) {
    const [from, to, fromId, toId] = alternating && i % 2 === 1 ? [b, a, 2, 1] : [a, b, 1, 2];
    const t0 = cpuUs();
    const c = await from.encrypt(toId, 1, plaintext);
    const t1 = cpuUs();
    await to.decrypt(fromId, 1, c);
    dec += cpuUs() - t1;
    enc += t1 - t0;
    overhead = envelopeBytes(c) - plaintext.length;
  }
  return { enc: enc / messages, dec: dec / messages, overhead };
}

export async function benchCrypto(plaintextBytes: number, messages: number, rounds: number): Promise<CryptoFigures> {
  const plaintext = Buffer.alloc(plaintextBytes, 0x61);
  await oneRound(Math.min(200, messages), plaintext, false); // warm-up (JIT, native library pages)
  const oneWay: { enc: number; dec: number; overhead: number }[] = [];
  const alt: { enc: number; dec: number }[] = [];
  const setups: number[] = [];
  let firstOverhead = 0;
  for (let r = 0; r < rounds; r++) {
    oneWay.push(await oneRound(messages, plaintext, false));
    alt.push(await oneRound(messages, plaintext, true));
    const p = await pair();
    setups.push(p.setupUs);
    firstOverhead = p.firstOverhead;
  }
  const enc = median(oneWay.map((x) => x.enc));
  const dec = median(oneWay.map((x) => x.dec));
  return {
    plaintext_bytes: plaintextBytes,
    encrypt_us: enc,
    decrypt_us: dec,
    encrypt_decrypt_us: median(oneWay.map((x) => x.enc + x.dec)),
    encrypt_decrypt_alternating_us: median(alt.map((x) => x.enc + x.dec)),
    overhead_first_bytes: firstOverhead,
    overhead_steady_bytes: oneWay[0]!.overhead,
    session_setup_us: median(setups),
  };
}
