// Group messages that arrived before their sender's key. A sender gives its
// sender key to each member over the 1:1 chat and then sends to the group
// chat; the two are different chats, so a member can get the group message
// first (docs/design/021-e2ee.md). Such a message waits here, per (sender,
// group), until the key comes (then it opens, in arrival order, before any
// later message of that sender in that group) or SENDER_KEY_WAIT_MS passes
// (then it fails as `no_sender_key`, counted in e2ee_decrypt_failed).
import { SealError } from './seal-error';

/** How long a group message waits for its sender's key: far above a 1:1 delivery, below the runs' delivery grace. */
const SENDER_KEY_WAIT_MS = 5_000;

interface Waiter {
  retry: () => Promise<Uint8Array>;
  resolve: (plain: Uint8Array) => void;
  reject: (err: unknown) => void;
}

interface Waiting {
  waiters: Waiter[];
  timer: NodeJS.Timeout;
}

export class SenderKeyWaits {
  private readonly waiting = new Map<string, Waiting>();

  /** Messages of `sender` in `chatId` waiting: a later one waits behind them, to keep the sender's order. */
  has(sender: number, chatId: string): boolean {
    return this.waiting.has(keyOf(sender, chatId));
  }

  /** Wait for the sender's key; `retry` decrypts once it came. */
  park(sender: number, chatId: string, retry: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const key = keyOf(sender, chatId);
    let w = this.waiting.get(key);
    if (!w) {
      w = { waiters: [], timer: setTimeout(() => this.expire(key), SENDER_KEY_WAIT_MS) };
      w.timer.unref();
      this.waiting.set(key, w);
    }
    const waiters = w.waiters;
    return new Promise((resolve, reject) => waiters.push({ retry, resolve, reject }));
  }

  /** The sender's key for `chatId` came: open what waited for it, in order (the caller holds the crypto lane). */
  async resume(sender: number, chatId: string): Promise<void> {
    const key = keyOf(sender, chatId);
    const w = this.waiting.get(key);
    if (!w) return;
    this.waiting.delete(key);
    clearTimeout(w.timer);
    for (const x of w.waiters) await x.retry().then(x.resolve, x.reject);
  }

  private expire(key: string): void {
    const w = this.waiting.get(key);
    if (!w) return;
    this.waiting.delete(key);
    const err = new SealError('no_sender_key', `no sender key from ${key} within ${SENDER_KEY_WAIT_MS} ms`);
    for (const x of w.waiters) x.reject(err);
  }
}

function keyOf(sender: number, chatId: string): string {
  return `${sender}/${chatId}`;
}
