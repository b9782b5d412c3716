// Setting up a world before the measured window: connect every user online
// at the start (a storm of connects, retried as a phone would), wait until the
// target has settled each one (its DrainDone), then create the group chats.
// Setup is timed and reported apart; nothing here is measured as load.
import { LatencyHistogram } from '../metrics/latency';
import { wantsE2eeWarmup, warmUpE2ee } from './e2ee-warmup';
import { spreadPick } from './online-set';
import type { World } from './world';

/** Connects in flight at once per worker during setup. */
const SETUP_CONNECTS_IN_FLIGHT_MAX = 128;
/** Attempts per user to connect during setup (a connect storm can time some out). */
const SETUP_CONNECT_ATTEMPTS_MAX = 5;
/** A setup connect must be settled (DrainDone) within this. */
const SETUP_DRAIN_TIMEOUT_MS = 30_000;
/** Group creations in flight at once per worker during setup. */
const SETUP_GROUP_CREATES_IN_FLIGHT_MAX = 16;

export interface SetupStats {
  connected: number;
  failed: number;
  durationMs: number;
  /** Encoded HDR of setup connect times (kept apart from the measured window). */
  connectTime: string;
  firstError: string;
  /** Group chats created for the group workload, and creations that failed. */
  groupsCreated: number;
  groupsFailed: number;
  /** traffic.e2ee warm-up (./e2ee-warmup.ts): sessions started, sender keys given, its time; null when off. */
  e2eeWarmup: { sessions: number; senderKeys: number; durationMs: number } | null;
}

/**
 * Connect every user of `world` that is online at the start. With
 * `touchOffline`, users that start offline connect once and leave (so the
 * target knows them).
 */
export async function setUpWorld(world: World, touchOffline: boolean, log: (line: string) => void): Promise<SetupStats> {
  const conns = world.connections;
  const onlineShare = world.plan.traffic.onlineShare;
  const hist = new LatencyHistogram();
  const start = world.now();
  let failed = 0;
  let retried = 0;
  let firstError = '';
  let next = 0;
  const todo: number[] = [];
  for (let u = 0; u < world.n; u++) if (touchOffline || spreadPick(u, onlineShare)) todo.push(u);
  let lastLog = start;
  const connectOne = async (u: number): Promise<void> => {
    const t0 = world.now();
    // Set up means settled: the target has processed the connect (its DrainDone came), so the
    // server's share of a connection storm is not carried into the measured window.
    const drained = world.driver.acks ? conns.waitDrainDone(u, SETUP_DRAIN_TIMEOUT_MS) : null;
    drained?.catch(() => {}); // observed below; a failed connect leaves it to time out quietly
    await conns.connect(u).catch((err) => {
      conns.cancelDrainWait(u);
      throw err;
    });
    hist.recordMs(world.now() - t0);
    if (drained) await drained;
    if (!spreadPick(u, onlineShare)) world.disconnect(u);
  };
  const runOne = async (): Promise<void> => {
    while (next < todo.length) {
      const u = todo[next++]!;
      // A connect that times out in a storm is retried, as a phone would; out of descriptors is final.
      for (let attempt = 1; ; attempt++) {
        try {
          await connectOne(u);
          break;
        } catch (err) {
          const message = (err as Error).message;
          if (/EMFILE|ENFILE|file descriptors/.test(message)) throw err;
          if (!conns.isOffline(u)) world.disconnect(u);
          if (attempt < SETUP_CONNECT_ATTEMPTS_MAX) {
            retried++;
            await new Promise((r) => setTimeout(r, 1000 * attempt));
            continue;
          }
          failed++;
          firstError ||= message;
          break;
        }
      }
      if (world.now() - lastLog > 5000) {
        lastLog = world.now();
        log(`setup: ${next}/${todo.length} connections${retried ? ` (${retried} retried)` : ''}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SETUP_CONNECTS_IN_FLIGHT_MAX, todo.length) }, runOne));
  const groups = await createGroups(world, log);
  firstError ||= groups.firstError;
  // After the groups (their chat ids) and before the window: a failure here fails setup.
  const e2eeWarmup = wantsE2eeWarmup(world) && groups.failed === 0 && failed === 0 ? await warmUpE2ee(world, log) : null;
  return {
    connected: hist.count, failed, durationMs: world.now() - start, connectTime: hist.encode(), firstError,
    groupsCreated: groups.created, groupsFailed: groups.failed, e2eeWarmup,
  };
}

/**
 * Create the world's group chats, each by its first online member (the
 * server makes the creator its admin). A group with nobody online at the
 * start is not created and never sent to.
 */
async function createGroups(world: World, log: (line: string) => void): Promise<{ created: number; failed: number; firstError: string }> {
  const g = world.groups;
  const conns = world.connections;
  let created = 0;
  let failed = 0;
  let firstError = '';
  if (g.count === 0) return { created, failed, firstError };
  let next = 0;
  const createOne = async (i: number): Promise<void> => {
    const s = g.size[i]!;
    let creatorPos = 0;
    while (creatorPos < s && !conns.isOnline(g.member(i, creatorPos))) creatorPos++;
    if (creatorPos === s) return;
    const conn = conns.connection(g.member(i, creatorPos))!;
    if (!conn.createGroup) throw new Error(`the ${world.driver.name} target has no group chats: the group workload needs the real system`);
    const others: number[] = [];
    for (let p = 0; p < s; p++) if (p !== creatorPos) others.push(conns.globalIndex(g.member(i, p)));
    try {
      g.setChatId(i, await conn.createGroup(`lg ${world.segment.index}.${i}`, others));
      created++;
    } catch (err) {
      failed++;
      firstError ||= `creating group ${i} (${s} members): ${(err as Error).message}`;
    }
  };
  const runOne = async (): Promise<void> => {
    while (next < g.count) await createOne(next++);
  };
  const t0 = world.now();
  await Promise.all(Array.from({ length: Math.min(SETUP_GROUP_CREATES_IN_FLIGHT_MAX, g.count) }, runOne));
  log(`setup: ${created} group chat(s) created in ${Math.round(world.now() - t0)} ms` +
    `${created < g.count ? ` (${g.count - created} not: ${failed} failed, the rest had nobody online)` : ''}`);
  return { created, failed, firstError };
}
