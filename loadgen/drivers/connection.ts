// How the k6-style engine talks to a target, one connection per simulated
// user. A LoadDriver opens connections; each reports what happens on it
// through the ConnectionEvents the engine hands it. (The older Driver/Endpoint
// in ./driver.ts serve pair-load and the benches.)
import { readFileSync } from 'node:fs';
import type { TlsClientOptions } from '../client/transport';
import type { MediaClient } from '../client/media-client';
import type { Identities } from '../identity/identities';

export interface ConnectionEvents {
  /**
   * A message body arrived; replay = it came from the offline queue / a resync.
   * chatId and id are the server's (real system; '' and 0 for bare targets).
   */
  onDeliver(body: Uint8Array, replay: boolean, chatId: string, id: number): void;
  /** The target durably accepted the send with this ref (real system's `sent` ack). */
  onSent(ref: number, id: number, chatId: string): void;
  /** The target refused the send with this ref. */
  onRejected(ref: number, code: string): void;
  /** An error frame not tied to one of our sends. */
  onError(code: string): void;
  /** traffic.e2ee: a received body did not decrypt (`reason`); the world never sees its header. */
  onUndecryptable(reason: string): void;
  /** A delivered/read watermark receipt for a chat this user sent in. kind: 1 delivered, 2 read. */
  onReceipt(chatId: string, kind: number, upToId: number): void;
  /** The offline queue has been drained (`messages` of them). */
  onDrainDone(messages: number): void;
  onClose(code: number, reason: string): void;
}

/**
 * A send's ref is below this (the world's send pool keeps it so); a connection's own requests (key
 * fetches, group creation) number theirs from here up, so a reply to one is never taken for a send's.
 */
export const SEND_REFS_END = 2 ** 31;

export interface LoadConnection {
  /**
   * Queue a 1:1 message to global user `toIndex`; it leaves with this event-loop turn's batch (with e2ee,
   * once it is encrypted; sends to one recipient leave in the order made). 0 < ref < SEND_REFS_END correlates the reply.
   */
  sendMessage(toIndex: number, body: Uint8Array, ref: number, clientMsgId: string): void;
  /**
   * Queue a message to a group chat (real system only); like sendMessage otherwise. `memberIndexes`: the
   * group's members (global users, the sender among them), the same array while they are the same (e2ee's sender keys).
   */
  sendGroupMessage(chatId: string, body: Uint8Array, ref: number, clientMsgId: string, memberIndexes: readonly number[]): void;
  /** Create a group with this user as its admin and these global users as members; resolves to its chat id (real system only). */
  createGroup?(name: string, memberIndexes: number[]): Promise<string>;
  /** Cumulatively mark a chat read up to `upToId` (real system only). */
  markRead(chatId: string, upToId: number): void;
  close(): void;
}

export interface LoadDriver {
  readonly name: 'system' | 'bare';
  /** True when the target answers sends (sent acks, errors) and sends receipts and DrainDone. */
  readonly acks: boolean;
  /** The target's HTTP media endpoint for user i (real system only; media messages need it). */
  readonly media?: MediaAccess;
  connect(globalIndex: number, events: ConnectionEvents, localAddress: string | undefined): Promise<LoadConnection>;
  /** Let work in flight that must not be cut off finish before the thread ends (at most `maxMs`); false if it did not. */
  settle?(maxMs: number): Promise<boolean>;
  /** traffic.e2ee (real system): set up sessions and sender keys before the measured window (./e2ee-warmup.ts). */
  warmUpE2ee?(work: E2eeWarmWork, connectionOf: (globalIndex: number) => LoadConnection | null, log: (line: string) => void): Promise<E2eeWarmStats>;
}

/** What the e2ee warm-up sets up (users by global index). */
export interface E2eeWarmWork {
  /** 1:1: each sender (connected) and the peers it writes to: a two-way session with each. */
  sessions: { sender: number; peers: readonly number[] }[];
  /** Groups: each sender's key handed to every other member. */
  groups: { chatId: string; members: readonly number[]; senders: readonly number[] }[];
}

export interface E2eeWarmStats {
  /** Sessions started (bundle fetches), and sender keys handed to a member. */
  sessions: number;
  senderKeys: number;
}

export interface TargetSpec {
  driver: 'system' | 'bare';
  /** One or more gateway URLs; users are spread over them in contiguous blocks (blockOf). */
  urls: string[];
  /** Who user i is on the target and the token it presents (system): minted from a secret, or listed. */
  identities: Identities;
  transport: 'lean' | 'ws';
  ackDelayMs: number;
  /** wss:// targets: the CA to trust, or no verification. */
  tls?: TlsClientOptions;
}

/**
 * Which of `count` targets (gateways, source addresses) global user i uses: contiguous blocks
 * of users, so every target gets the same share of the online users (i % count would not:
 * with 70% online and 4 gateways, two gateways got 20,000 connections and two 15,000).
 */
export function blockOf(globalIndex: number, totalUsers: number, count: number): number {
  return Math.min(count - 1, Math.floor((globalIndex * count) / Math.max(1, totalUsers)));
}

/** The process's open-files limit (soft), from /proc; null when unknown. */
export function openFilesLimit(): number | null {
  try {
    const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Turn EMFILE/ENFILE into an error that says what to do here (the limit cannot be raised on these machines). */
export function explainConnectError(err: unknown, target: string): Error {
  const e = err as NodeJS.ErrnoException & { code?: string };
  const code = e?.code ?? '';
  if (code === 'EMFILE' || code === 'ENFILE') {
    const limit = openFilesLimit();
    return new Error(
      `${code}: out of file descriptors connecting to ${target}. This process may hold ${limit ?? 'a limited number of'} open files ` +
        `(ulimit -n; 20,000 per process on these machines, and it cannot be raised here). Every connection costs one descriptor in ` +
        'the load generator and one in the gateway: split the users over more load generator processes (--shard i/N, or --procs N) ' +
        'and over more gateways (system.gateways / several --target URLs).',
    );
  }
  if (code === 'EADDRNOTAVAIL') {
    return new Error(`EADDRNOTAVAIL connecting to ${target}: out of ephemeral ports for this source address; spread connections ` +
      'over more loopback source addresses (--local-addresses 127.0.0.1-127.0.0.8)');
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Where user i uploads and downloads media: a MediaClient on its gateway, with its token. */
export interface MediaAccess {
  clientOf(globalIndex: number): MediaClient;
  /** The 1:1 chat id of global users a and b (an upload names the chat it is for). */
  chatIdOf(a: number, b: number): string;
}
