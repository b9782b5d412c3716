// What our Grafana dashboards (dashboards/*.json) and recording rules
// (prometheus/rules/*.yml) ask Prometheus: every query, with Grafana's
// variables replaced so Prometheus can run it as is. The dashboard tests and
// the live-data test use this.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../server/common/paths';

export const DASHBOARDS_DIR = join(REPO_ROOT, 'dashboards');
export const PROMETHEUS_DIR = join(REPO_ROOT, 'prometheus');

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { refId?: string; expr?: string; legendFormat?: string; datasource?: { uid?: string } }[];
  datasource?: { type?: string; uid?: string };
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query?: unknown; allValue?: string; definition?: string }[] };
  panels: DashboardPanel[];
  annotations?: { list: { name: string; expr?: string; builtIn?: number }[] };
}

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  /** As written in the dashboard. */
  expr: string;
  /** Runnable: Grafana's variables replaced. */
  promql: string;
}

export function dashboardFiles(): string[] {
  return readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json')).sort();
}

export function loadDashboard(file: string): Dashboard {
  return JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as Dashboard;
}

/**
 * Grafana's variables as Grafana would expand them for a query over the last
 * few minutes: $__rate_interval -> `rateInterval`, instance filters (All) -> `.+`.
 */
export function expandVariables(expr: string, dashboard: Dashboard, rateInterval: string): string {
  let out = expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('${__rate_interval}', rateInterval)
    .replaceAll('$__interval', rateInterval)
    .replaceAll('$__range', '5m');
  for (const v of dashboard.templating.list) {
    if (v.type === 'datasource') continue;
    const value = v.allValue ?? '.+';
    out = out.replaceAll(`\${${v.name}}`, value).replaceAll(`$${v.name}`, value);
  }
  return out;
}

export function panelQueries(rateInterval = '1m'): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const file of dashboardFiles()) {
    const d = loadDashboard(file);
    for (const p of d.panels) {
      for (const t of p.targets ?? []) {
        out.push({
          dashboard: d.title, panel: p.title, refId: t.refId ?? '', expr: t.expr ?? '',
          promql: expandVariables(t.expr ?? '', d, rateInterval),
        });
      }
    }
  }
  return out;
}

/**
 * The Prometheus annotation queries of every dashboard (the executor phases, the fault windows; Grafana's
 * built-in annotation has no expr), as panel-like queries: `panel` is "annotation: <name>".
 */
export function annotationQueries(rateInterval = '1m'): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const file of dashboardFiles()) {
    const d = loadDashboard(file);
    for (const a of d.annotations?.list ?? []) {
      if (a.builtIn || !a.expr) continue;
      out.push({ dashboard: d.title, panel: `annotation: ${a.name}`, refId: '', expr: a.expr, promql: expandVariables(a.expr, d, rateInterval) });
    }
  }
  return out;
}

export interface RecordingRule {
  file: string;
  group: string;
  record: string;
  expr: string;
}

/**
 * The recording rules of prometheus/rules/*.yml. The files are plain YAML in
 * one shape (groups -> rules -> record/expr, expr inline or as a `|` block), so
 * a line reader does; promtool validates the files themselves.
 */
export function recordingRules(): RecordingRule[] {
  const dir = join(PROMETHEUS_DIR, 'rules');
  const out: RecordingRule[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yml')).sort()) {
    const lines = readFileSync(join(dir, file), 'utf8').split('\n');
    let group = '';
    for (let i = 0; i < lines.length; i++) {
      const g = /^\s*- name:\s*(\S+)/.exec(lines[i]!);
      if (g) group = g[1]!;
      const r = /^\s*- record:\s*(\S+)/.exec(lines[i]!);
      if (!r) continue;
      const e = /^(\s*)expr:\s*(.*)$/.exec(lines[i + 1] ?? '');
      if (!e) throw new Error(`${file}: rule ${r[1]} has no expr on the next line`);
      let expr = e[2]!.trim();
      if (expr === '|' || expr === '|-') {
        const block: string[] = [];
        const indent = e[1]!.length;
        for (let j = i + 2; j < lines.length; j++) {
          const l = lines[j]!;
          if (l.trim() && l.length - l.trimStart().length <= indent) break;
          block.push(l.trim());
        }
        expr = block.join(' ').trim();
      }
      out.push({ file, group, record: r[1]!, expr });
    }
  }
  return out;
}

/** Metric names a PromQL expression reads (identifiers that look like our metrics or the default process metrics). */
export function metricNamesIn(promql: string): string[] {
  const names = new Set<string>();
  for (const m of promql.matchAll(/\b((?:wa|process|nodejs)_[a-z0-9_]+)\b/g)) names.add(m[1]!);
  return [...names];
}
