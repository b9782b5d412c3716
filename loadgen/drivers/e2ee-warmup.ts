// traffic.e2ee warm-up on the real system: the driver's side of
// ../world/e2ee-warmup.ts. Each sender fetches its peers' bundles over its own
// connection one after another (so one user never nears the server's
// key_fetches_per_user_per_second_max; a KEY_RATE_LIMITED refusal is tried
// again anyway), a bounded number of senders at a time, and makes each session
// two-way (E2eeUser.warmSession); then each group's senders hand their sender
// key to the other members (E2eeUser.warmGroup). All libsignal work goes
// through the thread's FIFO like the window's, so this is what a real
// population already has, paid for before the measured window.
import type { ChatClient } from '../client/chat-client';
import type { E2eeWarmStats, E2eeWarmWork } from './connection';
import type { E2eeUser } from './system-e2ee';

/** Senders warming their sessions at once per worker thread (each one fetch at a time). */
const SENDERS_IN_FLIGHT_MAX = 64;
/** Group senders keying at once (the FIFO runs one libsignal operation at a time anyway). */
const GROUP_SENDERS_IN_FLIGHT_MAX = 16;
const PROGRESS_LOG_MS = 5000;

export interface WarmUpAccess {
  userOf(globalIndex: number): E2eeUser;
  /** The user's open connection, or null. */
  chatOf(globalIndex: number): ChatClient | null;
}

export async function warmUpE2ee(work: E2eeWarmWork, access: WarmUpAccess, log: (line: string) => void): Promise<E2eeWarmStats> {
  const stats: E2eeWarmStats = { sessions: 0, senderKeys: 0 };
  const pairs = work.sessions.reduce((a, s) => a + s.peers.length, 0);
  let lastLog = Date.now();
  const progress = (what: string): void => {
    if (Date.now() - lastLog < PROGRESS_LOG_MS) return;
    lastLog = Date.now();
    log(`setup: e2ee warm-up: ${what}`);
  };
  await inParallel(work.sessions.length, SENDERS_IN_FLIGHT_MAX, async (i) => {
    const { sender, peers } = work.sessions[i]!;
    const chat = access.chatOf(sender);
    if (!chat) throw new Error(`e2ee warm-up: user ${sender} has no open connection to fetch bundles on`);
    const me = access.userOf(sender);
    for (const p of peers) {
      if (await me.warmSession(chat, access.userOf(p))) stats.sessions++;
      progress(`${stats.sessions} of <= ${pairs} sessions`);
    }
  });
  const jobs = work.groups.flatMap((g) => g.senders.map((s) => ({ g, s })));
  await inParallel(jobs.length, GROUP_SENDERS_IN_FLIGHT_MAX, async (i) => {
    const { g, s } = jobs[i]!;
    const given = await access.userOf(s).warmGroup(g.chatId, g.members.map((m) => access.userOf(m)));
    stats.senderKeys += given; // not `+= await`: that would add to the value read before the wait
    progress(`${stats.sessions} sessions, ${stats.senderKeys} sender keys given (${i}/${jobs.length} group senders)`);
  });
  return stats;
}

/** Run job(0..n-1), at most `width` at once; rejects at the first failure. */
async function inParallel(n: number, width: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane));
}
