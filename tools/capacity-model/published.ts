// Published fleet figures the projection is held against (reconcile.ts). Each
// is a parameter with its source and year, quoted from public talks and
// engineering posts as the author of this module remembers them: nothing is
// looked up at run time, and each says so. Check a figure against its source
// before quoting it elsewhere.

export interface PublishedFigure {
  value: number;
  unit: string;
  source: string;
  year: number;
  note: string;
}

const WHATSAPP_2014 = 'Rick Reed, "That\'s \'Billion\' with a \'B\': Scaling to the next level at WhatsApp", Erlang Factory SF';
const FROM_MEMORY = 'quoted from memory, not looked up';

export const PUBLISHED = {
  whatsapp_2012_connections_per_server: {
    value: 2e6, unit: 'connections/server', year: 2012,
    source: 'WhatsApp blog, "1 million is so 2011"',
    note: `over 2M TCP connections on one tuned FreeBSD/Erlang server (a peak on one box, not a fleet average); ${FROM_MEMORY}`,
  },
  whatsapp_2014_users: {
    value: 450e6, unit: 'monthly users', year: 2014, source: WHATSAPP_2014,
    note: `~450-465M monthly users; ${FROM_MEMORY}`,
  },
  whatsapp_2014_servers: {
    value: 550, unit: 'servers', year: 2014, source: WHATSAPP_2014,
    note: `~550 servers in all (chat, multimedia, storage), not counting standby gear; ${FROM_MEMORY}`,
  },
  whatsapp_2014_chat_servers: {
    value: 150, unit: 'servers', year: 2014, source: WHATSAPP_2014,
    note: `~150 chat servers holding ~1M phones each; ${FROM_MEMORY}`,
  },
  whatsapp_2014_connections_peak: {
    value: 147e6, unit: 'connections', year: 2014, source: WHATSAPP_2014,
    note: `peak concurrent connections; ${FROM_MEMORY}`,
  },
  whatsapp_2014_msgs_per_s_peak: {
    value: 342e3 + 712e3, unit: 'msgs/s', year: 2014, source: WHATSAPP_2014,
    note: `peak 342k messages/s in + 712k out; ${FROM_MEMORY}`,
  },
  whatsapp_2014_cores_per_server: {
    value: 20, unit: 'cores', year: 2014, source: WHATSAPP_2014,
    note: `dual Xeon E5-2690 v2 (2 x 10 cores, 40 threads), 64-512 GB RAM; ${FROM_MEMORY}`,
  },
  discord_2017_store_nodes: {
    value: 12, unit: 'Cassandra nodes', year: 2017, source: 'Discord engineering blog, "How Discord Stores Billions of Messages"',
    note: `12 Cassandra nodes, replication factor 3; ${FROM_MEMORY}`,
  },
  discord_2017_messages_per_day: {
    value: 120e6, unit: 'msgs/day', year: 2017, source: 'Discord engineering blog, "How Discord Stores Billions of Messages"',
    note: `"well over 120 million" messages a day; ${FROM_MEMORY}`,
  },
  discord_2023_store_nodes: {
    value: 72, unit: 'ScyllaDB nodes', year: 2023, source: 'Discord engineering blog, "How Discord Stores Trillions of Messages"',
    note: `177 Cassandra nodes replaced by 72 ScyllaDB nodes, trillions of messages kept; ${FROM_MEMORY}`,
  },
  discord_2023_store_node_disk_bytes: {
    value: 9e12, unit: 'B', year: 2023, source: 'Discord engineering blog, "How Discord Stores Trillions of Messages"',
    note: `9 TB of disk per ScyllaDB node; ${FROM_MEMORY}`,
  },
} as const satisfies Record<string, PublishedFigure>;

export type PublishedName = keyof typeof PUBLISHED;
