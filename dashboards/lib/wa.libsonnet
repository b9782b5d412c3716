// A small dashboard kit for our Grafana dashboards (grafonnet is not
// installable here; this covers the handful of panel kinds we use).
//
// Panels are listed in reading order; dashboard() lays them out on Grafana's
// 24-column grid (left to right, wrapping), numbers them (unique ids) and gives
// each query a refId. Every panel and query uses the `datasource` template
// variable, so the JSON imports into any Grafana with a Prometheus data source.
{
  local kit = self,

  // Grafana 10/11 dashboard model.
  schemaVersion:: 39,
  datasource:: { type: 'prometheus', uid: '${datasource}' },

  // ---- PromQL helpers ($__rate_interval: Grafana's rate window, >= 4 scrape intervals).
  rate(metric, selector='')::
    'rate(%s%s[$__rate_interval])' % [metric, selector],
  sumRate(metric, by=[], selector='')::
    if std.length(by) == 0 then 'sum(%s)' % kit.rate(metric, selector)
    else 'sum by (%s) (%s)' % [std.join(', ', by), kit.rate(metric, selector)],
  quantile(q, histogram, by=[], selector='')::
    'histogram_quantile(%s, sum by (%s) (%s))' % [q, std.join(', ', by + ['le']), kit.rate(histogram + '_bucket', selector)],

  // ---- queries
  q(expr, legend='')::
    { expr: expr, legendFormat: legend, range: true, instant: false, editorMode: 'code' },
  // P50/P95/P99 (and more) of a histogram, one query each.
  quantileNames:: { '0.5': 'p50', '0.9': 'p90', '0.95': 'p95', '0.99': 'p99', '0.999': 'p99.9' },
  quantiles(histogram, qs=['0.5', '0.95', '0.99'], by=[], selector='', prefix='')::
    [
      kit.q(kit.quantile(q, histogram, by, selector),
            prefix + kit.quantileNames[q] + (if std.length(by) > 0 then ' ' + std.join(' ', ['{{%s}}' % l for l in by]) else ''))
      for q in qs
    ],

  // ---- panels
  local base(type, title, description, targets, w, h) = {
    type: type,
    title: title,
    description: description,
    datasource: kit.datasource,
    gridPos: { w: w, h: h },
    targets: [
      t { refId: std.char(65 + i), datasource: kit.datasource }
      for i in std.range(0, std.length(targets) - 1)
      for t in [targets[i]]
    ],
  },

  thresholdSteps(redAbove):: {
    mode: 'absolute',
    steps: [{ color: 'green', value: null }] + (if redAbove == null then [] else [{ color: 'red', value: redAbove }]),
  },

  timeseries(title, targets, unit='short', description='', w=12, h=8, redAbove=null, stack=false, min=0)::
    base('timeseries', title, description, targets, w, h) {
      fieldConfig: {
        defaults: {
          unit: unit,
          min: min,
          color: { mode: 'palette-classic' },
          thresholds: kit.thresholdSteps(redAbove),
          custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: if stack then 30 else 8,
            showPoints: 'never',
            spanNulls: true,
            stacking: { mode: if stack then 'normal' else 'none', group: 'A' },
            thresholdsStyle: { mode: if redAbove == null then 'off' else 'line' },
          },
        },
        overrides: [],
      },
      options: {
        legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
        tooltip: { mode: 'multi', sort: 'desc' },
      },
    },

  stat(title, targets, unit='short', description='', w=6, h=4, redAbove=null, decimals=null)::
    base('stat', title, description, targets, w, h) {
      fieldConfig: {
        defaults: {
          unit: unit,
          thresholds: kit.thresholdSteps(redAbove),
          color: { mode: 'thresholds' },
        } + (if decimals == null then {} else { decimals: decimals }),
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'value',
        graphMode: 'area',
        justifyMode: 'auto',
        textMode: 'auto',
        orientation: 'auto',
      },
    },

  // Bucket counts per interval as a heatmap (the histogram's buckets, not re-bucketed).
  heatmap(title, histogram, description='', w=12, h=8, selector='')::
    base('heatmap', title, description,
         [kit.q('sum by (le) (increase(%s_bucket%s[$__rate_interval]))' % [histogram, selector], '{{le}}') { format: 'heatmap' }],
         w, h) {
      options: {
        calculate: false,
        cellGap: 1,
        color: { mode: 'scheme', scheme: 'Spectral', steps: 64, reverse: true },
        yAxis: { unit: 's', axisPlacement: 'left' },
        tooltip: { show: true, yHistogram: true },
        legend: { show: true },
      },
      fieldConfig: { defaults: {}, overrides: [] },
    },

  row(title):: { type: 'row', title: title, collapsed: false, panels: [], gridPos: { w: 24, h: 1 } },

  // ---- template variables
  datasourceVariable:: {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    current: {},
    hide: 0,
    refresh: 1,
    regex: '',
    includeAll: false,
    multi: false,
    options: [],
  },

  // An instance filter: `instance=~"$<name>"` in queries; All is the regex .+
  instanceVariable(name, label, metric):: {
    name: name,
    label: label,
    type: 'query',
    datasource: kit.datasource,
    definition: 'label_values(%s, instance)' % metric,
    query: { query: 'label_values(%s, instance)' % metric, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.+',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    sort: 1,
    hide: 0,
    options: [],
    regex: '',
  },

  // A load run picker: `run_id=~"$run_id"` in queries. run_id comes with remote write (loadgen run --remote-write);
  // All is the regex .* so series without the label (scraped from /metrics) still match.
  runVariable:: {
    name: 'run_id',
    label: 'Load run',
    type: 'query',
    datasource: kit.datasource,
    definition: 'label_values(wa_loadgen_messages_sent_total, run_id)',
    query: { query: 'label_values(wa_loadgen_messages_sent_total, run_id)', refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { selected: true, text: ['All'], value: ['$__all'] },
    sort: 2,
    hide: 0,
    options: [],
    regex: '',
  },

  // A Prometheus annotation: each run of consecutive points of `expr` (a 0/1 series filtered with == 1) is one region.
  annotation(name, expr, title, color):: {
    name: name,
    datasource: kit.datasource,
    enable: true,
    hide: false,
    iconColor: color,
    expr: expr,
    step: '1s',
    titleFormat: title,
    textFormat: '',
    tagKeys: 'run_id',
    useValueForTime: false,
  },

  // ---- the dashboard: lay out, number, wrap
  local place(panels) =
    local step(acc, p) =
      local w = p.gridPos.w;
      local h = p.gridPos.h;
      local wrap = acc.x + w > 24;
      local x = if wrap then 0 else acc.x;
      local y = if wrap then acc.y + acc.rowH else acc.y;
      {
        x: x + w,
        y: y,
        rowH: if wrap then h else std.max(acc.rowH, h),
        out: acc.out + [p { id: std.length(acc.out) + 1, gridPos+: { x: x, y: y } }],
      };
    std.foldl(step, panels, { x: 0, y: 0, rowH: 0, out: [] }).out,

  dashboard(uid, title, description, tags, panels, variables=[], annotations=[]):: {
    uid: uid,
    title: title,
    description: description,
    tags: ['wa-scale'] + tags,
    schemaVersion: kit.schemaVersion,
    version: 1,
    editable: true,
    graphTooltip: 1,
    timezone: 'browser',
    time: { from: 'now-15m', to: 'now' },
    refresh: '5s',
    timepicker: { refresh_intervals: ['5s', '10s', '30s', '1m', '5m'] },
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [{ type: 'dashboards', tags: ['wa-scale'], asDropdown: true, title: 'WA dashboards', includeVars: false, keepTime: true }],
    annotations: {
      list: [{
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      }] + annotations,
    },
    templating: { list: [kit.datasourceVariable] + variables },
    panels: place(panels),
  },
}
