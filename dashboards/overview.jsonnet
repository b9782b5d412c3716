// WA / Overview: is delivery fast, how much flows, who is connected, what fails.
// Server-side latency is the gateways' histogram (receipt of a send -> frame
// written to the recipient's socket); client-side latency is the load
// generator's (scheduled send -> delivered, in the client's own clock).
local wa = import 'lib/wa.libsonnet';

wa.dashboard(
  uid='wa-overview',
  title='WA / Overview',
  description='Delivery latency P50/P95/P99 (server and client side), throughput, connections and errors across the fleet.',
  tags=['overview'],
  panels=[
    wa.row('Delivery latency (target: p99 < 100 ms)'),
    wa.timeseries(
      'Delivery latency, server side',
      wa.quantiles('wa_gateway_delivery_latency_seconds'),
      unit='s', redAbove=0.1,
      description='Gateway receipt of a send -> the message frame written to the recipient socket, over all gateways (wa_gateway_delivery_latency_seconds).',
    ),
    wa.timeseries(
      'Delivery latency, client side (load generator)',
      wa.quantiles('wa_loadgen_delivery_latency_seconds', ['0.5', '0.95', '0.99', '0.999']),
      unit='s', redAbove=0.1,
      description='Scheduled send time -> delivery at the recipient, measured by the load generator in one clock (no coordinated omission).',
    ),
    wa.stat(
      'Server p99 now',
      [wa.q(wa.quantile('0.99', 'wa_gateway_delivery_latency_seconds'), 'p99')],
      unit='s', redAbove=0.1,
      description='p99 server-side delivery latency over the last rate interval.',
    ),
    wa.stat(
      'Deliveries within 100 ms',
      [wa.q('sum(%s) / sum(%s)' % [
        wa.rate('wa_gateway_delivery_latency_seconds_bucket', '{le="0.1"}'),
        wa.rate('wa_gateway_delivery_latency_seconds_count'),
      ], 'within 100 ms')],
      unit='percentunit', decimals=2,
      description='Share of server-side deliveries under the 100 ms target (the histogram has a 0.1 s bucket bound for this).',
    ),
    wa.stat(
      'Client p99 now',
      [wa.q(wa.quantile('0.99', 'wa_loadgen_delivery_latency_seconds'), 'p99')],
      unit='s', redAbove=0.1,
      description='p99 client-side delivery latency (load generator) over the last rate interval.',
    ),
    wa.stat(
      'Messages stored/s',
      [wa.q(wa.sumRate('wa_chat_messages_stored_total'), 'stored/s')],
      unit='short',
      description='Messages committed to the store per second, all chat-service nodes.',
    ),

    wa.row('Throughput'),
    wa.timeseries(
      'Messages/s',
      [
        wa.q(wa.sumRate('wa_chat_messages_stored_total', ['kind']), 'stored {{kind}}'),
        wa.q(wa.sumRate('wa_chat_deliveries_total', ['delivery']), 'delivered {{delivery}}'),
      ],
      unit='short',
      description='Messages stored by kind and deliveries handed to gateways (live, or replayed from offline queues).',
    ),
    wa.timeseries(
      'Frames/s at the gateways',
      [
        wa.q(wa.sumRate('wa_gateway_frames_received_total', ['type']), 'in {{type}}'),
        wa.q(wa.sumRate('wa_gateway_frames_sent_total'), 'out (all)'),
        wa.q(wa.sumRate('wa_gateway_ws_messages_sent_total'), 'out WebSocket messages'),
      ],
      unit='short',
      description='Client frames received by type; server frames written and the WebSocket messages they were coalesced into.',
    ),

    wa.row('Connections'),
    wa.timeseries(
      'Open connections',
      [
        wa.q('sum(wa_gateway_connections)', 'connections (all gateways)'),
        wa.q('sum by (instance) (wa_gateway_connections)', '{{instance}}'),
        wa.q('sum(wa_chat_online_users)', 'online users (chat service)'),
      ],
      unit='short',
      description='Client WebSocket connections per gateway, and users the chat service sees online.',
    ),
    wa.timeseries(
      'Connects and disconnects/s',
      [
        wa.q(wa.sumRate('wa_gateway_connections_opened_total'), 'opened'),
        wa.q(wa.sumRate('wa_gateway_connections_closed_total'), 'closed'),
      ],
      unit='short',
      description='Connection churn: a reconnect flood shows here first.',
    ),

    wa.row('Errors'),
    wa.timeseries(
      'Gateway errors/s by reason',
      [wa.q(wa.sumRate('wa_gateway_errors_total', ['reason']), '{{reason}}')],
      unit='short',
      description='Frames, upgrades and sockets refused at the edge: error codes, BAD_TOKEN, BACKPRESSURE (slow consumer closed), ...',
    ),
    wa.timeseries(
      'Chat-service errors/s by reason',
      [
        wa.q(wa.sumRate('wa_chat_errors_total', ['reason']), '{{reason}}'),
        wa.q(wa.sumRate('wa_store_errors_total', ['op']), 'store {{op}}'),
      ],
      unit='short',
      description='Error frames the chat service sent (by code) and failed store calls (by operation).',
    ),
  ],
)
