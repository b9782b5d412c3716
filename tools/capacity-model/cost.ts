// What the projected fleet costs: nodes x the model's monthly price per node,
// per tier and in total, and per million messages sent (the seed's
// messages_per_day over an average month). Prices are parameters (source
// 'price' in fleet-model.ts): nothing is looked up. A tier whose count is a
// floor ("not measured" somewhere) makes its cost, and the total, a floor too.
import type { FleetModel } from './fleet-model';
import type { FleetProjection, TierName } from './projection';

/** 365.25 / 12: the mean month, so a year is twelve of them. */
export const DAYS_PER_MONTH_MEAN = 30.4375;

const PRICE: Record<TierName, 'gateway_node_usd_per_month' | 'chat_node_usd_per_month' | 'store_node_usd_per_month' | 'redis_node_usd_per_month'> = {
  gateway: 'gateway_node_usd_per_month',
  chat: 'chat_node_usd_per_month',
  scylla: 'store_node_usd_per_month',
  redis: 'redis_node_usd_per_month',
  // Media transfer runs on the gateway tier's kind of machine (HTTP on the gateways, or a media service beside them).
  media: 'gateway_node_usd_per_month',
};

export interface TierCost {
  tier: TierName;
  nodes: number | null;
  usd_per_node_month: number;
  usd_per_month: number | null;
  /** False when the tier's count is a floor: the cost is "at least". */
  complete: boolean;
}

export interface FleetCost {
  tiers: TierCost[];
  /** Sum over the tiers that have a count; null when none has. */
  usd_per_month: number | null;
  complete: boolean;
  messages_per_month: number;
  usd_per_million_messages: number | null;
  notes: string[];
}

export function fleetCost(m: FleetModel, fleet: FleetProjection): FleetCost {
  const tiers = fleet.tiers.map((t): TierCost => {
    const price = m[PRICE[t.tier]];
    return { tier: t.tier, nodes: t.nodes, usd_per_node_month: price, usd_per_month: t.nodes === null ? null : t.nodes * price, complete: t.complete && t.nodes !== null };
  });
  const counted = tiers.filter((t) => t.usd_per_month !== null);
  const total = counted.length === 0 ? null : counted.reduce((s, t) => s + t.usd_per_month!, 0);
  const messagesPerMonth = m.messages_per_day * DAYS_PER_MONTH_MEAN;
  return {
    tiers,
    usd_per_month: total,
    complete: tiers.every((t) => t.complete),
    messages_per_month: messagesPerMonth,
    usd_per_million_messages: total === null ? null : total / (messagesPerMonth / 1e6),
    notes: [
      'Prices are the model\'s parameters (gateway/chat/store/redis_node_usd_per_month): on-demand list-price classes from memory, not looked up; ' +
        'reserved or owned hardware costs a fraction of them.',
      'Not included: media storage and delivery (the blob store / CDN), network transfer, etcd and load balancers, staff.',
    ],
  };
}
