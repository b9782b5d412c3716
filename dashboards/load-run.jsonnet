// WA / Load run: what the load generator asked for, what it achieved, and
// whether every message arrived once and in order. The wa_loadgen_* names are
// the load generator's /metrics (loadgen run --metrics-port); the system's own
// panels sit beside them for comparison. With --remote-write every series
// carries run_id: the `run_id` variable picks a run, and the executors'
// phases (wa_loadgen_executor_active) and the scenario's fault windows
// (wa_loadgen_fault_active: a fault's first step to its process back) are
// drawn as annotations.
local wa = import 'lib/wa.libsonnet';

// Every wa_loadgen_* series of the picked run(s); All also matches scraped series (no run_id label).
local run = '{run_id=~"$run_id"}';

wa.dashboard(
  uid='wa-load-run',
  title='WA / Load run',
  description='Scheduled vs achieved rate, dropped iterations, integrity counters (lost, duplicated, out of order) and client-measured delivery latency of a load run.',
  tags=['loadgen'],
  variables=[wa.runVariable],
  annotations=[
    wa.annotation('Executor phases', 'wa_loadgen_executor_active%s == 1' % run, '{{executor}} ({{run_id}})', 'rgba(255, 152, 48, 1)'),
    wa.annotation('Faults', 'wa_loadgen_fault_active%s == 1' % run, 'fault #{{fault_id}}: {{fault}} ({{run_id}})', 'rgba(242, 73, 92, 1)'),
  ],
  panels=[
    wa.row('Rate: scheduled vs achieved'),
    wa.timeseries(
      'Scheduled vs achieved rate',
      [
        wa.q('sum(wa_loadgen_target_rate%s)' % run, 'target rate (executor)'),
        wa.q(wa.sumRate('wa_loadgen_messages_scheduled_total', [], run), 'scheduled/s'),
        wa.q(wa.sumRate('wa_loadgen_messages_sent_total', [], run), 'sent/s'),
        wa.q(wa.sumRate('wa_loadgen_messages_delivered_total', [], run), 'delivered/s'),
        wa.q(wa.sumRate('wa_chat_messages_stored_total'), 'stored/s (chat service)'),
      ],
      w=16,
      description='The executor\'s target rate, what it scheduled, what was sent and delivered, and what the system stored: the lines part where something cannot keep up.',
    ),
    wa.stat(
      'Achieved / scheduled',
      [wa.q('%s / %s' % [wa.sumRate('wa_loadgen_messages_sent_total', [], run), wa.sumRate('wa_loadgen_messages_scheduled_total', [], run)], 'achieved')],
      unit='percentunit', decimals=1, w=4,
      description='Below 100 %: the generator or the system could not keep the scheduled rate.',
    ),
    wa.stat(
      'Dropped iterations',
      [wa.q('sum(wa_loadgen_dropped_iterations_total%s)' % run, 'dropped')],
      redAbove=1, w=4,
      description='Iterations not started because no VU was free (k6 dropped_iterations): the schedule was not kept.',
    ),
    wa.timeseries(
      'Dropped iterations/s',
      [wa.q(wa.sumRate('wa_loadgen_dropped_iterations_total', [], run), 'dropped/s')],
      w=8,
      description='When this is above zero the measured latency understates what users would see at the scheduled rate.',
    ),
    wa.timeseries(
      'Delivery latency: client vs server',
      wa.quantiles('wa_loadgen_delivery_latency_seconds', ['0.5', '0.99'], [], run, 'client ') +
      wa.quantiles('wa_gateway_delivery_latency_seconds', ['0.5', '0.99'], [], '', 'server '),
      unit='s', redAbove=0.1, w=16,
      description='Client: scheduled send -> delivered (load generator). Server: gateway receipt -> socket write. The gap is client, network and queueing before the gateway.',
    ),

    wa.row('Integrity'),
    wa.stat('Lost', [wa.q('sum(wa_loadgen_delivery_lost_total%s)' % run, 'lost')], redAbove=1, w=6,
            description='Accepted messages not delivered within the grace period while the recipient was online.'),
    wa.stat('Duplicated', [wa.q('sum(wa_loadgen_delivery_duplicated_total%s)' % run, 'duplicated')], redAbove=1, w=6,
            description='Messages delivered again as live (non-replay) deliveries.'),
    wa.stat('Out of order', [wa.q('sum(wa_loadgen_delivery_out_of_order_total%s)' % run, 'out of order')], redAbove=1, w=6,
            description='Messages delivered after a later one of the same sender -> recipient stream.'),
    wa.stat('Delivered / sent', [wa.q('sum(wa_loadgen_messages_delivered_total%s) / sum(wa_loadgen_messages_sent_total%s)' % [run, run], 'delivered')],
            unit='percentunit', decimals=2, w=6,
            description='Running share of sent messages delivered (in-flight ones count as not yet delivered).'),
    wa.timeseries(
      'Integrity counters',
      [
        wa.q('sum(wa_loadgen_delivery_lost_total%s)' % run, 'lost'),
        wa.q('sum(wa_loadgen_delivery_duplicated_total%s)' % run, 'duplicated'),
        wa.q('sum(wa_loadgen_delivery_out_of_order_total%s)' % run, 'out of order'),
      ],
      w=12,
      description='Cumulative counts over the run.',
    ),
    wa.timeseries(
      'System during the run',
      [
        wa.q('sum(wa_gateway_connections)', 'connections'),
        wa.q('sum by (job) (%s)' % wa.rate('process_cpu_seconds_total', '{job=~"wa-gateway|wa-chat"}'), 'CPU cores {{job}}'),
      ],
      w=12,
      description='Connections held by the gateways and the CPU of the system\'s processes while the load runs.',
    ),
  ],
)
