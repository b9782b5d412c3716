// WA / Tiers: one row per tier (gateway, chat service, store) and one for the
// Node processes themselves. Where a figure is per batch (gRPC stream
// messages, ticks, commits) it says so: batching is what makes the hot path
// cheap, so its size is worth watching.
local wa = import 'lib/wa.libsonnet';

local gw = '{instance=~"$gateway"}';
local chat = '{instance=~"$chat"}';

wa.dashboard(
  uid='wa-tiers',
  title='WA / Tiers',
  description='Per tier: gateway (connections, frames, coalescing, latency, errors), chat service (ticks, gRPC batches and hops, offline queues, drains, presence), store (commit and read latency), and the processes (CPU, memory, event-loop delay).',
  tags=['tiers'],
  variables=[
    wa.instanceVariable('gateway', 'Gateway', 'wa_gateway_connections'),
    wa.instanceVariable('chat', 'Chat service', 'wa_chat_gateway_links'),
  ],
  panels=[
    wa.row('Gateway'),
    wa.timeseries(
      'Connections',
      [
        wa.q('sum by (instance) (wa_gateway_connections%s)' % gw, '{{instance}} connections'),
        wa.q('sum by (instance) (wa_gateway_connected_users%s)' % gw, '{{instance}} users'),
      ],
      w=8,
      description='Open WebSocket connections and distinct users per gateway.',
    ),
    wa.timeseries(
      'Frames received/s by type',
      [wa.q(wa.sumRate('wa_gateway_frames_received_total', ['type'], gw), '{{type}}')],
      w=8,
      description='Client frames per second by type; invalid: failed to decode or validate at the edge.',
    ),
    wa.timeseries(
      'Writes: frames and WebSocket messages/s',
      [
        wa.q(wa.sumRate('wa_gateway_frames_sent_total', [], gw), 'frames'),
        wa.q(wa.sumRate('wa_gateway_ws_messages_sent_total', [], gw), 'WebSocket messages'),
        wa.q('%s / %s' % [wa.sumRate('wa_gateway_frames_sent_total', [], gw), wa.sumRate('wa_gateway_ws_messages_sent_total', [], gw)],
             'frames per message (coalescing)'),
      ],
      w=8,
      description='Frames are coalesced per socket per event-loop turn into one WebSocket message: frames per message is the saving.',
    ),
    wa.heatmap(
      'Delivery latency (server side) heatmap',
      'wa_gateway_delivery_latency_seconds', selector=gw, w=8,
      description='Buckets of wa_gateway_delivery_latency_seconds per interval.',
    ),
    wa.timeseries(
      'Delivery latency by gateway',
      wa.quantiles('wa_gateway_delivery_latency_seconds', ['0.5', '0.99'], ['instance'], gw),
      unit='s', redAbove=0.1, w=8,
      description='p50 and p99 per gateway (the recipient gateway writes the socket).',
    ),
    wa.timeseries(
      'Bytes/s',
      [
        wa.q(wa.sumRate('wa_gateway_received_bytes_total', [], gw), 'in'),
        wa.q(wa.sumRate('wa_gateway_sent_bytes_total', [], gw), 'out'),
      ],
      unit='Bps', w=8,
      description='WebSocket payload bytes from and to clients.',
    ),
    wa.timeseries(
      'gRPC stream to/from the chat service',
      [
        wa.q('%s / %s' % [wa.sumRate('wa_gateway_grpc_sent_items_total', [], gw), wa.sumRate('wa_gateway_grpc_sent_batches_total', [], gw)],
             'items per message sent'),
      ] + wa.quantiles('wa_gateway_grpc_received_batch_items', ['0.5', '0.99'], [], gw, 'received items '),
      w=8,
      description='Micro-batch sizes on the gateway side of the stream: one stream message per event-loop turn.',
    ),
    wa.timeseries(
      'Gateway errors/s by reason',
      [wa.q(wa.sumRate('wa_gateway_errors_total', ['reason'], gw), '{{reason}}')],
      w=8,
      description='Refused frames and closed sockets by reason.',
    ),
    wa.timeseries(
      'Chat link up',
      [wa.q('min by (instance) (wa_gateway_chat_link_up%s)' % gw, '{{instance}}')],
      w=8, min=0,
      description='1 while the gateway\'s gRPC stream to the chat service is up.',
    ),

    wa.row('Chat service'),
    wa.timeseries(
      'Ticks: duration',
      wa.quantiles('wa_chat_tick_duration_seconds', ['0.5', '0.99'], [], chat) + [
        wa.q(wa.sumRate('wa_chat_ticks_total', [], chat), 'ticks/s'),
      ],
      unit='s', w=8,
      description='One tick = decode, validate, one store commit, emit. ticks/s is on the same axis for lack of a second one: read it as a count.',
    ),
    wa.timeseries(
      'Events per tick',
      wa.quantiles('wa_chat_tick_events', ['0.5', '0.99'], [], chat),
      w=8,
      description='Inbound events handled by one tick: the group-commit size seen by the engine.',
    ),
    wa.timeseries(
      'Sends/s by outcome',
      [wa.q(wa.sumRate('wa_chat_sends_total', ['outcome'], chat), '{{outcome}}')],
      w=8,
      description='stored; duplicate (a retry of a stored client_msg_id: answered, not stored again); rejected (error frame).',
    ),
    wa.timeseries(
      'gRPC batch size (items per stream message)',
      wa.quantiles('wa_chat_grpc_batch_items', ['0.5', '0.99'], ['direction'], chat),
      w=8,
      description='Items per gRPC stream message, both directions, seen by the chat service.',
    ),
    wa.timeseries(
      'gRPC hop latency gateway -> chat',
      wa.quantiles('wa_chat_grpc_hop_latency_seconds', ['0.5', '0.99'], [], chat),
      unit='s', w=8,
      description='Stream message written by the gateway -> received by the chat service (monotonic clocks on one machine).',
    ),
    wa.timeseries(
      'Online users and gateway links',
      [
        wa.q('sum(wa_chat_online_users%s)' % chat, 'online users'),
        wa.q('sum(wa_chat_gateway_links%s)' % chat, 'gateway links'),
      ],
      w=8,
      description='Users with a connection anywhere, and gateways connected over gRPC.',
    ),
    wa.timeseries(
      'Offline queues',
      [
        wa.q('sum(wa_chat_offline_queue_messages%s)' % chat, 'queued messages'),
        wa.q('sum(wa_chat_offline_queue_users%s)' % chat, 'users with a queue'),
      ],
      w=8,
      description='Undelivered 1:1 messages for offline users (in-memory counts of the users the node knows).',
    ),
    wa.timeseries(
      'Drains',
      [
        wa.q(wa.sumRate('wa_chat_deliveries_total', [], '{delivery="replay",instance=~"$chat"}'), 'drained messages/s'),
        wa.q(wa.sumRate('wa_chat_drains_completed_total', [], chat), 'drains completed/s'),
        wa.q('sum(wa_chat_drains_active%s)' % chat, 'active'),
        wa.q('sum(wa_chat_drains_queued%s)' % chat, 'waiting for a slot'),
      ],
      w=8,
      description='Offline-queue drain rate, and drains running / queued (bounded by drain_concurrent_max).',
    ),
    wa.timeseries(
      'Presence',
      [
        wa.q(wa.sumRate('wa_chat_presence_changes_total', ['state'], chat), 'went {{state}}/s'),
        wa.q(wa.sumRate('wa_chat_presence_updates_sent_total', [], chat), 'updates sent to watchers/s'),
      ],
      w=8,
      description='Users coming online / going offline, and presence frames sent to their watchers.',
    ),
    wa.timeseries(
      'Chat-service errors/s by reason',
      [wa.q(wa.sumRate('wa_chat_errors_total', ['reason'], chat), '{{reason}}')],
      w=24, h=6,
      description='Error frames sent to clients, by error code.',
    ),

    wa.row('Store'),
    wa.timeseries(
      'Commit latency',
      wa.quantiles('wa_store_commit_duration_seconds', ['0.5', '0.99'], [], chat),
      unit='s', w=8,
      description='One commit per tick: a transaction (embedded) or one round of writes (ScyllaDB).',
    ),
    wa.timeseries(
      'Commits/s and messages per commit',
      [
        wa.q(wa.sumRate('wa_store_commit_duration_seconds_count', [], chat), 'commits/s'),
      ] + wa.quantiles('wa_store_commit_messages', ['0.5', '0.99'], [], chat, 'messages per commit '),
      w=8,
      description='Group commit at work: many messages per commit at high rates.',
    ),
    wa.timeseries(
      'Read latency p99 by operation',
      wa.quantiles('wa_store_read_duration_seconds', ['0.99'], ['op'], chat),
      unit='s', w=8,
      description='Store reads (cache misses, history pages, drains, idempotency look-ups) by operation.',
    ),
    wa.timeseries(
      'Reads/s by operation',
      [wa.q(wa.sumRate('wa_store_read_duration_seconds_count', ['op'], chat), '{{op}}')],
      w=12,
      description='How often each read runs.',
    ),
    wa.timeseries(
      'Store errors/s',
      [
        wa.q(wa.sumRate('wa_store_errors_total', ['op'], chat), '{{op}}'),
        wa.q('max by (engine) (wa_store_info%s)' % chat, 'engine {{engine}} (1 = in use)'),
      ],
      w=12,
      description='Failed store calls by operation.',
    ),

    wa.row('Processes'),
    wa.timeseries(
      'CPU (cores)',
      [wa.q('sum by (job, instance) (%s)' % wa.rate('process_cpu_seconds_total', '{job=~"wa-.*"}'), '{{job}} {{instance}}')],
      w=8,
      description='CPU seconds per second of each process: 1.0 is one core.',
    ),
    wa.timeseries(
      'Resident memory',
      [wa.q('sum by (job, instance) (process_resident_memory_bytes{job=~"wa-.*"})', '{{job}} {{instance}}')],
      unit='bytes', w=8,
      description='RSS per process.',
    ),
    wa.timeseries(
      'Event-loop delay p99',
      wa.quantiles('wa_event_loop_delay_seconds', ['0.99'], ['job', 'instance']),
      unit='s', w=8, redAbove=0.05,
      description='How late a 100 ms timer fires (sampled 10/s): the time the event loop was blocked. Everything on that process waits that long.',
    ),
    wa.timeseries(
      'Heap used',
      [wa.q('sum by (job, instance) (nodejs_heap_size_used_bytes{job=~"wa-.*"})', '{{job}} {{instance}}')],
      unit='bytes', w=12,
      description='V8 heap in use (prom-client default metrics).',
    ),
    wa.timeseries(
      'Open file descriptors',
      [wa.q('sum by (job, instance) (process_open_fds{job=~"wa-.*"})', '{{job}} {{instance}}')],
      w=12,
      description='One per connection on a gateway; the limit here is 20,000 per process.',
    ),
  ],
)
