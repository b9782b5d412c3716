// Failure what-if of the chat tier: a chat node (or a zone's share of the chat
// nodes) dies; its partitions, and so its chats, are unserved until their
// leases run out and the survivors take them over: the failover time
// bench/failover.ts measured (its slowest kill, chat_failover_s_max). The
// error budget is user-weighted like the gateway rows: the share of chats
// unserved times how long.
//
// Clients stay connected (their gateways live); sends to a moving partition are
// held or answered with a retryable error and resent (docs/design/013).
import type { FleetModel } from './fleet-model';
import type { Measurements } from './measured';
import type { FleetProjection } from './projection';

export interface ChatFailureCase {
  id: 'chat-node' | 'zone';
  title: string;
  chat_nodes: number;
  /** Null when the projected count is more than the code can run (a zone is then 1/zones of whatever runs). */
  chat_nodes_lost: number | null;
  /** Share of partitions (chats) the lost nodes owned: lost / nodes (rendezvous hashing spreads them evenly on average); null when not projected. */
  chats_unserved_share: number | null;
  /** How long they are unserved: the measured failover time; null when not measured. */
  unserved_s: number | null;
  /** Share of the year's error budget the chat side of the incident uses. */
  error_budget_share: number | null;
  /** Zone: the chat side plus the gateways' re-accept of the same zone (an upper bound: both happen at once). */
  error_budget_share_with_gateways: number | null;
}

export interface ChatFailureWhatIf {
  cases: ChatFailureCase[];
  notes: string[];
}

interface GatewayZoneCase {
  error_budget_share: number | null;
}

export function chatFailureCases(
  m: FleetModel, fleet: FleetProjection, measured: Measurements, budgetS: number, gatewayZone: GatewayZoneCase | null,
): ChatFailureWhatIf {
  const chatTier = fleet.tiers.find((t) => t.tier === 'chat')!;
  const nodes = chatTier.nodes;
  const failover = measured.figures.chat_failover_s_max;
  const notes: string[] = [];
  if (nodes === null) {
    notes.push('The chat node count is not projected (no measured chat figure): no chat what-if.');
    return { cases: [], notes };
  }
  const overLimit = nodes > (chatTier.nodes_max ?? Infinity);
  if (overLimit) {
    notes.push(`The projected ${nodes} chat nodes are more than the code can run (${chatTier.nodes_max}): one node's share is not projected; ` +
      `a zone is 1/${m.zones} of the partitions whatever the count.`);
  }
  const t = failover?.value ?? null;
  const build = (id: ChatFailureCase['id'], title: string, lost: number | null, share: number | null): ChatFailureCase => {
    const budget = t === null || share === null ? null : (share * t) / budgetS;
    const withGateways = id === 'zone' && budget !== null && gatewayZone?.error_budget_share != null ? budget + gatewayZone.error_budget_share : null;
    return {
      id, title, chat_nodes: nodes, chat_nodes_lost: lost, chats_unserved_share: share, unserved_s: t,
      error_budget_share: budget, error_budget_share_with_gateways: withGateways,
    };
  };
  const cases = [
    build('chat-node', 'one chat node lost', 1, overLimit ? null : 1 / nodes),
    build('zone', m.zones === 3 ? 'a third of every tier lost (one zone of 3)' : `one zone of ${m.zones} lost (1/${m.zones} of every tier)`,
      overLimit ? null : Math.ceil(nodes / m.zones), overLimit ? 1 / m.zones : Math.ceil(nodes / m.zones) / nodes),
  ];
  if (failover) {
    notes.push(`Chat rows: partitions unserved for the slowest measured failover, ${failover.value.toFixed(2)} s (${failover.source}, ${failover.basis}; ` +
      `median ${measured.figures.chat_failover_s_p50 ? `${measured.figures.chat_failover_s_p50.value.toFixed(2)} s` : 'not measured'}). ` +
      'It was measured killing one node at a time; a zone\'s nodes dying at once is not measured (the zone-loss scenario runs it at small scale).');
  } else {
    notes.push('Chat failover time not measured: run `node dist/bench/failover.js --json <file>` and pass it with --results, or --assume chat_failover_s_max=...');
  }
  notes.push('Rendezvous hashing does not know zones: a zone\'s chat nodes own about their share of the partitions, not a fixed set.');
  return { cases, notes };
}
