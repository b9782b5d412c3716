// The fleet model: the load the seed describes ("Design WhatsApp", Capacity
// Estimation) plus every assumption the capacity command needs to turn it into
// bytes, frames, writes and nodes. `node dist/tools/capacity-model/cli.js` reads it
// (or a copy passed with --model) and prints which figures are the seed's and
// which are ours.
//
// One table, one source of truth: each parameter is a value with its unit,
// where it comes from and why it has that value. `source` says how much to
// trust it:
//   seed        - a figure the seed states; the recomputation checks its arithmetic
//   assumption  - a traffic or byte-size guess of ours; change it and rerun
//   hardware    - the size of one fleet node (memory, disk, NIC)
//   policy      - an operating choice (zones, utilisation ceiling, replication)
//   price       - what a node costs a month (no look-ups: list-price classes, change them with --set)
// Measured per-node capacity (messages/s at p99, connections per GiB, ...) is NOT
// here: it comes from results/ runs (tools/capacity-model/adapters/), never from a default.
//
// Units: bytes are decimal (1 MB = 1e6 B, 1 TB = 1e12 B) as in the seed's own
// arithmetic (1B media * 1 MB = 1 PB); memory sizes say GiB where they mean 2^30.

export type ParameterSource = 'seed' | 'assumption' | 'hardware' | 'policy' | 'price';

export interface ParameterDoc {
  value: number;
  unit: string;
  source: ParameterSource;
  /** Smallest and largest sane value; the loader refuses a model outside them. */
  min: number;
  max: number;
  why: string;
}

const PARAMETERS = {
  // ---- the seed's figures -------------------------------------------------
  users: {
    value: 2e9, unit: 'users', source: 'seed', min: 1, max: 1e11,
    why: 'Seed: "Handle 2B+ users".',
  },
  messages_per_day: {
    value: 100e9, unit: 'msgs/day', source: 'seed', min: 1, max: 1e14,
    why: 'Seed: "100B messages/day". One send = one message, whatever the number of recipients.',
  },
  message_bytes: {
    value: 100, unit: 'B', source: 'seed', min: 1, max: 65_536,
    why: 'Seed: 100 bytes per message: the text alone, no envelope, no encryption, no framing.',
  },
  media_per_day: {
    value: 1e9, unit: 'media/day', source: 'seed', min: 0, max: 1e12,
    why: 'Seed: "1B media/day".',
  },
  media_bytes: {
    value: 1e6, unit: 'B', source: 'seed', min: 1, max: 2e9,
    why: 'Seed: 1 MB per media item (decimal: the seed gets 1B * 1MB = 1PB).',
  },
  user_record_bytes: {
    value: 1e3, unit: 'B', source: 'seed', min: 1, max: 1e6,
    why: 'Seed: "2B users * 1KB" of user data (profile, settings, keys).',
  },
  group_members_max: {
    value: 256, unit: 'members', source: 'seed', min: 2, max: 100_000,
    why: 'Seed: groups of up to 256 members (also server/common/config.ts group_members_max).',
  },
  availability_target: {
    value: 0.999, unit: 'share', source: 'seed', min: 0.9, max: 0.999999,
    why: 'Seed: 99.9% availability, i.e. an error budget of 8.8 h/year.',
  },
  delivery_latency_ms_max: {
    value: 100, unit: 'ms', source: 'seed', min: 1, max: 60_000,
    why: 'Seed: real-time delivery < 100 ms. A measured stage counts as sustained only if its p99 is below this.',
  },

  // ---- traffic shape ------------------------------------------------------
  peak_to_average_ratio: {
    value: 2, unit: 'x', source: 'assumption', min: 1, max: 20,
    why: 'Busiest hour over the daily mean. Messaging traffic follows the day; a global user base flattens the curve, ' +
      'holidays (New Year) spike well above it. Fleets are sized for the peak, not the mean the seed divides by.',
  },
  group_message_share: {
    value: 0.3, unit: 'share', source: 'assumption', min: 0, max: 1,
    why: 'Share of sends that go to a group rather than one person.',
  },
  group_members_mean: {
    value: 8, unit: 'members', source: 'assumption', min: 2, max: 100_000,
    why: 'Mean size (sender included) of the group a group message goes to. 256 is the limit, not the typical group.',
  },
  devices_per_user: {
    value: 1.3, unit: 'devices', source: 'assumption', min: 1, max: 10,
    why: 'Phone plus linked devices (web, desktop). Every device of a recipient gets its own copy, and the ' +
      "sender's other devices get one too.",
  },
  online_device_share_peak: {
    value: 0.3, unit: 'share', source: 'assumption', min: 0, max: 1,
    why: 'Share of all devices holding a connection at the busiest hour: the concurrent connections gateways hold.',
  },
  offline_delivery_share: {
    value: 0.2, unit: 'share', source: 'assumption', min: 0, max: 1,
    why: 'Share of device deliveries whose device is not connected when the message is routed: each is an ' +
      'offline-queue write now and a delete when it drains.',
  },
  receipts_per_recipient: {
    value: 2, unit: 'receipts', source: 'assumption', min: 0, max: 4,
    why: 'Delivered + read, per recipient, back to the sender (WhatsApp shows both per group member).',
  },
  messages_per_receipt_frame: {
    value: 1, unit: 'msgs', source: 'assumption', min: 1, max: 1_000,
    why: "Messages one receipt frame covers. 1 = a receipt per message per recipient, as the seed's per-message " +
      'status column implies; our cumulative watermarks raise it when messages arrive in bursts.',
  },
  presence_changes_per_user_per_hour: {
    value: 4, unit: 'changes/user/h', source: 'assumption', min: 0, max: 3_600,
    why: 'Online/offline transitions per user (app to foreground and back) at the busiest hour.',
  },
  presence_watchers_per_change: {
    value: 2, unit: 'watchers', source: 'assumption', min: 0, max: 1_000,
    why: 'Online subscribers notified per presence change (only open chats watch a contact).',
  },
  heartbeat_interval_s: {
    value: 60, unit: 's', source: 'assumption', min: 1, max: 3_600,
    why: 'One ping + pong per idle connection per interval (our gateway: idle_timeout_seconds = 60, uWS pings idle sockets).',
  },
  prekey_fetches_per_user_per_day: {
    value: 1, unit: 'fetches/day', source: 'assumption', min: 0, max: 1_000,
    why: 'Prekey bundle fetches per user per day (end-to-end encryption, docs/design/021-e2ee.md): a session started with a new ' +
      "contact, or again after a contact's reinstall or new device; a reinstall fetches for every contact it writes to. Each " +
      'fetch takes one one-time prekey per device of the target (an LWT each on ScyllaDB).',
  },
  media_downloads_per_recipient: {
    value: 1, unit: 'downloads', source: 'assumption', min: 0, max: 10,
    why: 'Downloads of a media item per recipient (auto-download). The seed counts one transfer per item.',
  },

  // ---- bytes on the wire --------------------------------------------------
  envelope_bytes_per_message: {
    value: 40, unit: 'B', source: 'assumption', min: 0, max: 4_096,
    why: 'Protobuf envelope around the body: server message id (8), chat id (~16), sender (8), type, timestamp.',
  },
  e2e_overhead_bytes_per_message: {
    value: 58, unit: 'B', source: 'assumption', min: 0, max: 4_096,
    why: 'Signal message framing: version (1) + ratchet public key (33+2) + counters (~4) + MAC (8) + ' +
      'AES-CBC padding to 16 B (~8 on average) + protobuf tags (~2).',
  },
  frame_overhead_bytes: {
    value: 80, unit: 'B', source: 'assumption', min: 0, max: 1_500,
    why: 'Per frame on the wire: WebSocket header (~6) + TLS 1.3 record (5 + 1 + 16 tag) + TCP/IP headers (52 ' +
      'with timestamps). At human send rates each message travels in its own packet, so nothing amortises it.',
  },
  receipt_bytes: {
    value: 24, unit: 'B', source: 'assumption', min: 1, max: 1_024,
    why: 'Receipt body: chat id + watermark message id + kind.',
  },
  presence_bytes: {
    value: 24, unit: 'B', source: 'assumption', min: 1, max: 1_024,
    why: 'Presence body: user id + state + last-seen.',
  },

  // ---- storage ------------------------------------------------------------
  store_row_overhead_bytes: {
    value: 60, unit: 'B', source: 'assumption', min: 0, max: 4_096,
    why: 'Per stored message beyond its body: clustering key (message id), sender, type, timestamp, and the ' +
      "store's per-cell metadata (write timestamp per cell).",
  },
  replication_factor: {
    value: 3, unit: 'copies', source: 'policy', min: 1, max: 9,
    why: 'ScyllaDB keyspace replication factor: one replica per zone, survives a zone loss at QUORUM.',
  },
  compaction_space_amplification: {
    value: 1.2, unit: 'x', source: 'assumption', min: 1, max: 4,
    why: 'LSM bytes on disk over live bytes: leveled/incremental compaction ~1.1-1.3, size-tiered up to 2; ' +
      'tombstones of drained offline queues wait for gc_grace.',
  },
  store_disk_fill_max_share: {
    value: 0.7, unit: 'share', source: 'policy', min: 0.1, max: 0.95,
    why: 'Highest disk fill we run a store node at: room for compaction temp space, repair streams and growth.',
  },
  message_retention_days: {
    value: 365, unit: 'days', source: 'policy', min: 1, max: 36_500,
    why: "Days of message history kept. 365 makes the standing store equal the seed's per-year figure.",
  },
  media_retention_days: {
    value: 365, unit: 'days', source: 'policy', min: 1, max: 36_500,
    why: "Days media blobs are kept (365 matches the seed's per-year figure).",
  },
  media_storage_redundancy: {
    value: 1.5, unit: 'x', source: 'policy', min: 1, max: 6,
    why: 'Blob store bytes per logical byte: erasure coding 10+5 = 1.5x (plain 3-way replication would be 3x).',
  },

  // ---- the fleet ----------------------------------------------------------
  zones: {
    value: 3, unit: 'zones', source: 'policy', min: 1, max: 10,
    why: 'Availability zones the fleet spreads over; the fleet must carry the peak with one zone gone.',
  },
  node_utilisation_max: {
    value: 0.7, unit: 'share', source: 'policy', min: 0.1, max: 1,
    why: 'Share of a node\'s measured capacity we plan to use at peak: measured figures are at the edge of the ' +
      'latency target, and traffic is burstier than a load test.',
  },
  gateway_connection_memory_gib: {
    value: 16, unit: 'GiB', source: 'hardware', min: 0.5, max: 4_096,
    why: 'Gateway memory available for connections: 16 of a 24 GiB node like the measured one, the rest for ' +
      'the runtime, socket buffers under backpressure and spikes.',
  },
  gateway_nic_bits_per_s: {
    value: 10e9, unit: 'bit/s', source: 'hardware', min: 1e6, max: 1e12,
    why: 'Network interface of one gateway node.',
  },
  store_node_disk_bytes: {
    value: 7.5e12, unit: 'B', source: 'hardware', min: 1e9, max: 1e15,
    why: 'Local NVMe of one ScyllaDB node (2 x 3.75 TB).',
  },
  redis_node_memory_gib: {
    value: 16, unit: 'GiB', source: 'hardware', min: 0.5, max: 4_096,
    why: 'Memory one Redis node may fill with routes and presence (of 24 GiB; fork for snapshots needs headroom).',
  },
  redis_bytes_per_route_entry: {
    value: 100, unit: 'B', source: 'assumption', min: 1, max: 10_000,
    why: 'One connection\'s route: key (device id, ~20 B) + value (gateway id, epoch, ~20 B) + Redis dict and ' +
      'object overhead (~60 B).',
  },
  redis_ops_per_delivery: {
    value: 1, unit: 'ops', source: 'assumption', min: 0, max: 10,
    why: 'Route lookups per device delivery (which gateway holds the device); 0 if chat nodes cache routes.',
  },
  redis_replicas_per_primary: {
    value: 1, unit: 'replicas', source: 'policy', min: 0, max: 5,
    why: 'Redis replicas per primary shard, for failover.',
  },
  node_cores: {
    value: 0, unit: 'cores', source: 'hardware', min: 0, max: 512,
    why: 'Cores of one gateway or chat node. 0 = as many as the measured machine (2 on the reference VM): the measured per-node rates apply as they are. Any other ' +
      'count sizes throughput from the measured CPU per message per core, scaled by core_scaling_sigma/kappa (--profile, tools/capacity-model/hardware.ts).',
  },
  store_node_cores: {
    value: 12, unit: 'cores', source: 'hardware', min: 1, max: 512,
    why: 'Cores of one ScyllaDB node (the i3en.3xlarge class of store_node_usd_per_month). ScyllaDB runs a shard per core, so its ' +
      'CPU-bound writes row counts them linearly.',
  },
  core_scaling_sigma: {
    value: 0.02, unit: 'share', source: 'assumption', min: 0, max: 0.5,
    why: 'USL contention between the processes of one node (one Node.js process per core: kernel network stack, NIC queues, memory ' +
      'bandwidth). Not measured: this box has 2 cores shared with the load generator, so no run put more than 2 processes on their own cores.',
  },
  core_scaling_kappa: {
    value: 0, unit: 'share', source: 'assumption', min: 0, max: 0.01,
    why: 'USL coherency cost between the processes of one node (grows with cores squared). 0: the processes share no state; ' +
      'the chat tier\'s cross-process cost is chat_coordination_ratio, measured.',
  },
  gateway_node_usd_per_month: {
    value: 100, unit: 'USD/month', source: 'price', min: 0, max: 1e6,
    why: 'One gateway node a month: on-demand list-price class of a 2-vCPU, 16-24 GiB cloud instance (2024-26, from memory, not looked up).',
  },
  chat_node_usd_per_month: {
    value: 100, unit: 'USD/month', source: 'price', min: 0, max: 1e6,
    why: 'One chat-service node a month: the same class as a gateway.',
  },
  store_node_usd_per_month: {
    value: 1_000, unit: 'USD/month', source: 'price', min: 0, max: 1e6,
    why: 'One ScyllaDB node a month: an instance with 7.5 TB local NVMe (i3en.3xlarge class, ~12 vCPU, 96 GiB), from memory.',
  },
  redis_node_usd_per_month: {
    value: 150, unit: 'USD/month', source: 'price', min: 0, max: 1e6,
    why: 'One Redis node a month: a 2-vCPU, 24-32 GiB memory-optimised instance, from memory.',
  },
  reconnect_jitter_window_s: {
    value: 10, unit: 's', source: 'policy', min: 0, max: 3_600,
    why: 'Clients spread reconnects over a jittered backoff window this long; recovery is never faster than it.',
  },
} as const satisfies Record<string, ParameterDoc>;

export type FleetParameter = keyof typeof PARAMETERS;

/** A fleet model: one number per parameter, in the unit FLEET_MODEL_PARAMETERS gives. */
export type FleetModel = { [K in FleetParameter]: number };

export const FLEET_MODEL_PARAMETERS: Readonly<Record<FleetParameter, ParameterDoc>> = PARAMETERS;

export const FLEET_PARAMETER_NAMES = Object.keys(PARAMETERS) as FleetParameter[];

function defaults(): FleetModel {
  const model = {} as FleetModel;
  for (const name of FLEET_PARAMETER_NAMES) model[name] = PARAMETERS[name].value;
  return model;
}

/** The seed's load with our documented assumptions: the default of the capacity command. */
export const SEED_FLEET_MODEL: Readonly<FleetModel> = Object.freeze(defaults());

export default SEED_FLEET_MODEL;
