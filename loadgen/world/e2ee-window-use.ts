// How much of the e2ee state the measured window is scheduled to use, so the
// warm-up (./e2ee-warmup.ts) sets up that and not more: per online sender, how
// many of its contacts it writes to (it takes them round robin from the
// first), and per group, how many of its senders send (round robin from
// position 0). From the arrival-rate executors' scheduled iterations, this
// world's stripe of them, and the traffic model's shares; a margin covers the
// random split between 1:1 and group sends. A closed-model executor (no
// schedule) or a reconnecting population leaves it unbounded: all of them.
import { isArrivalRate, iterationsDue } from '../executors/iterations-due';
import type { RunPlan } from '../model/plan';
import { stripedShare, type Segment } from '../model/segments';
import type { World } from './world';

/** Warmed beyond the expected use: a few sends more than the mean per sender or group. */
const MARGIN = 2;

export interface WindowUse {
  contactsPerSender: number;
  sendersPerGroup: number;
}

const ALL: WindowUse = { contactsPerSender: Infinity, sendersPerGroup: Infinity };

export function windowUse(world: World): WindowUse {
  const groups = world.groups.chatIds.filter((id) => id !== null).length;
  return windowUseOf(world.plan, world.segment, countOnline(world), groups);
}

/** windowUse from its inputs: the plan, this world's segment, its users online at the start, its created groups. */
export function windowUseOf(plan: RunPlan, segment: Segment, online: number, groups: number): WindowUse {
  const t = plan.traffic;
  if (t.reconnect.dropShare > 0) return ALL; // senders come and go: the round robin over online users is not a fixed share
  let oneToOne = 0;
  let group = 0;
  for (const e of plan.executors) {
    if (e.exec === 'disconnect' || e.exec === 'reconnect') return ALL;
    if (e.exec !== 'chat' && e.exec !== 'group') continue;
    if (!isArrivalRate(e)) return ALL;
    const mine = stripedShare(Math.ceil(iterationsDue(e, Infinity) ?? 0), segment);
    const groupShare = e.exec === 'group' ? 1 : (1 - t.mediaShare) * t.groupShare;
    group += mine * groupShare;
    oneToOne += mine * (1 - groupShare);
  }
  if (groups === 0) oneToOne += group; // the chat workload sends 1:1 when there is no group
  return {
    contactsPerSender: online === 0 ? 0 : Math.ceil(oneToOne / online) + MARGIN,
    sendersPerGroup: groups === 0 ? 0 : Math.ceil(group / groups) + MARGIN,
  };
}

function countOnline(world: World): number {
  let n = 0;
  for (let u = 0; u < world.n; u++) if (world.connections.isOnline(u)) n++;
  return n;
}
