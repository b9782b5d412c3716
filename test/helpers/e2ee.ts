// Test helpers for end-to-end encryption: a connected user whose device has
// registered its keys (loadgen/client/e2ee), and the messages it received.
import type { RunningSystem } from '../../deploy/local-system';
import { E2eeClient } from '../../loadgen/client/e2ee/e2ee-client';
import type { MessageBody } from '../../server/common/protocol';
import { connectReady, newUserId, type TestClient } from './system';

export interface E2eeUser {
  chat: TestClient;
  e2ee: E2eeClient;
  user: number;
}

/** Connect `user` (fresh when omitted) as device `device` and upload its keys with `prekeys` one-time prekeys. */
export async function connectE2ee(sys: RunningSystem, user = newUserId(), device = 1, prekeys = 20): Promise<E2eeUser> {
  const chat = await connectReady(sys, user);
  const e2ee = new E2eeClient(chat, user, device, { prekeysPerUpload: prekeys });
  await e2ee.register();
  return { chat, e2ee, user };
}

/** Messages `c` received from `from`, in arrival order. */
export function messagesFrom(c: TestClient, from: number): MessageBody[] {
  return c.frames.filter((f) => f.body === 'message' && f.message.from_user === from).map((f) => (f as { message: MessageBody }).message);
}

/** A plaintext unlikely to occur by chance in any file: the blindness scan looks for it byte for byte. */
export function secretText(tag: string, n: number): string {
  return `secret-${tag}-${n}-${Math.random().toString(36).slice(2, 12)}`;
}
