// traffic.e2ee warm-up: the last step of setup (./setup.ts), so the measured
// window sees established sessions and sender keys, as a real population has,
// instead of the cold storm of bundle fetches, PQXDH session starts and sender
// key distributions that the key-storm scenario measures (it turns this off:
// traffic.e2eeWarmup false).
//
// What is set up: every user online at the start gets a two-way session with
// each of its contacts (the peers its 1:1 messages go to); in each created
// group, the members online at the start, in the order the world picks group
// senders (positions round robin from 0), up to GROUP_SENDERS_MAX of them,
// hand their sender key to every other member. A group above that many
// members gets that many senders keyed: keying all 256 members of a 256-member
// group is 65,280 keys held in this process, where a short window sends from a
// few of them; a sender past the cap distributes in the window as before.
// Users offline at the start, or reconnecting later, start their sessions in
// the window when they send. Bounded: setup fails past WARMUP_TIMEOUT_MS.
//
// Only what the window is scheduled to use (./e2ee-window-use.ts): a sender's
// first k contacts in its round-robin order and a group's first k senders,
// k from the window's scheduled 1:1 and group sends plus a margin. At
// fanout's 10,000 users a sender writes to ~3-4 of its 8 contacts in the 24 s
// window and a group gets ~4-5 messages: warming all of them cost ~3.5 min of
// setup and held state the window never touched. A send past the warmed ones
// starts its session (or distributes its key) in the window, as without the
// warm-up, and counts there (e2ee_key_fetches, e2ee_sender_keys_sent).
import type { E2eeWarmStats, E2eeWarmWork } from '../drivers/connection';
import { windowUse } from './e2ee-window-use';
import type { World } from './world';

/** Group senders keyed per group at most (in the world's sending order). */
export const GROUP_SENDERS_MAX = 32;
/** The warm-up must be done within this, or setup fails. */
const WARMUP_TIMEOUT_MS = 5 * 60_000;

export interface WarmUpResult extends E2eeWarmStats {
  durationMs: number;
}

/** Whether this world warms up e2ee before its window (traffic.e2ee on, e2eeWarmup not false). */
export function wantsE2eeWarmup(world: World): boolean {
  const t = world.plan.traffic;
  return t.e2ee === true && t.e2eeWarmup !== false && world.driver.warmUpE2ee !== undefined;
}

/** The sessions and sender keys the window will use, by global index. */
export function warmWork(world: World): E2eeWarmWork {
  const conns = world.connections;
  const c = world.contacts;
  const g = world.groups;
  const use = windowUse(world);
  const contacts = Math.min(c.perUser, use.contactsPerSender);
  const sessions: E2eeWarmWork['sessions'] = [];
  for (let u = 0; u < world.n; u++) {
    if (!conns.isOnline(u)) continue;
    const peers: number[] = [];
    for (let j = 0; j < contacts; j++) peers.push(conns.globalIndex(c.recipientOf(c.streamOf(u, j))));
    sessions.push({ sender: conns.globalIndex(u), peers });
  }
  const groups: E2eeWarmWork['groups'] = [];
  for (let i = 0; i < g.count; i++) {
    const chatId = g.chatIds[i];
    if (!chatId) continue;
    const senders: number[] = [];
    for (let pos = 0; pos < g.size[i]! && senders.length < Math.min(GROUP_SENDERS_MAX, use.sendersPerGroup); pos++) {
      if (conns.isOnline(g.member(i, pos))) senders.push(conns.globalIndex(g.member(i, pos)));
    }
    groups.push({ chatId, members: g.globalMembers(i, (u) => conns.globalIndex(u)), senders });
  }
  return { sessions, groups };
}

/** Run the warm-up on the world's driver; rejects with a clear error past WARMUP_TIMEOUT_MS. */
export async function warmUpE2ee(world: World, log: (line: string) => void): Promise<WarmUpResult> {
  const t0 = world.now();
  const work = warmWork(world);
  const conns = world.connections;
  const first = conns.globalIndex(0);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(
      `setup: the e2ee warm-up (${work.sessions.length} senders' sessions, ${work.groups.length} groups' sender keys) ` +
      `did not finish within ${WARMUP_TIMEOUT_MS / 1000} s; traffic.e2eeWarmup false (or --e2ee off) runs without it`)), WARMUP_TIMEOUT_MS);
  });
  try {
    const stats = await Promise.race([world.driver.warmUpE2ee!(work, (gi) => conns.connection(gi - first), log), timeout]);
    const durationMs = world.now() - t0;
    log(`setup: e2ee warm-up: ${stats.sessions} sessions started (two-way), ${stats.senderKeys} sender keys given ` +
      `in ${work.groups.length} groups, in ${(durationMs / 1000).toFixed(1)} s`);
    return { ...stats, durationMs };
  } finally {
    clearTimeout(timer);
  }
}
