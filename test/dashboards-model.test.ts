// Each dashboard is a valid Grafana dashboard model that current Grafana
// imports: schemaVersion, a Prometheus datasource template variable used by
// every panel and query, unique panel ids, a layout inside the 24-column grid
// without overlaps, every query with an expression and a unique refId, every
// variable it uses defined. The PromQL of every query is parsed by promtool
// (as recording rules of a throwaway file): a syntax error fails here, before
// any Prometheus runs it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { annotationQueries, dashboardFiles, loadDashboard, panelQueries, type Dashboard } from './helpers/dashboard-queries';

const SCHEMA_VERSION_MIN = 36; // Grafana 9.x+; current Grafana migrates anything newer than 30 forward
const PANEL_TYPES = new Set(['row', 'timeseries', 'stat', 'heatmap']);
const GRAFANA_BUILTINS = new Set(['__rate_interval', '__interval', '__range', '__all']);

function variablesUsed(expr: string): string[] {
  return [...expr.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g)].map((m) => m[1]!);
}

describe('dashboards are importable Grafana models', () => {
  const files = dashboardFiles();
  const dashboards: [string, Dashboard][] = files.map((f) => [f, loadDashboard(f)]);

  it('have unique uids and titles', () => {
    const uids = dashboards.map(([, d]) => d.uid);
    const titles = dashboards.map(([, d]) => d.title);
    assert.equal(new Set(uids).size, uids.length);
    assert.equal(new Set(titles).size, titles.length);
    for (const u of uids) assert.match(u, /^[a-z0-9-]{1,40}$/);
  });

  for (const [file, d] of dashboards) {
    describe(file, () => {
      it('has a schemaVersion and a Prometheus datasource variable', () => {
        assert.equal(typeof d.schemaVersion, 'number');
        assert.ok(d.schemaVersion >= SCHEMA_VERSION_MIN, `schemaVersion ${d.schemaVersion}`);
        const ds = d.templating.list.find((v) => v.type === 'datasource');
        assert.ok(ds, 'a datasource template variable');
        assert.equal(ds.name, 'datasource');
        assert.equal(ds.query, 'prometheus');
        const names = d.templating.list.map((v) => v.name);
        assert.equal(new Set(names).size, names.length, 'variable names unique');
      });

      it('has unique panel ids, known panel types, and a layout on the 24-column grid without overlaps', () => {
        const ids = d.panels.map((p) => p.id);
        assert.ok(ids.every((id) => Number.isInteger(id) && id > 0));
        assert.equal(new Set(ids).size, ids.length, 'panel ids unique');
        const cells = new Set<string>();
        for (const p of d.panels) {
          assert.ok(PANEL_TYPES.has(p.type), `${p.title}: type ${p.type}`);
          assert.ok(p.title, `panel ${p.id} has a title`);
          const g = p.gridPos;
          assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.y >= 0 && g.h > 0, `${p.title}: gridPos ${JSON.stringify(g)}`);
          for (let x = g.x; x < g.x + g.w; x++) {
            for (let y = g.y; y < g.y + g.h; y++) {
              const c = `${x},${y}`;
              assert.ok(!cells.has(c), `${p.title} overlaps another panel at ${c}`);
              cells.add(c);
            }
          }
        }
      });

      it('gives every query an expr, a unique refId and the datasource variable; uses only defined variables', () => {
        const defined = new Set(d.templating.list.map((v) => v.name));
        for (const p of d.panels) {
          if (p.type === 'row') continue;
          assert.equal(p.datasource?.uid, '${datasource}', `${p.title}: panel datasource`);
          assert.ok(p.targets && p.targets.length > 0, `${p.title}: no queries`);
          const refIds = p.targets.map((t) => t.refId);
          assert.equal(new Set(refIds).size, refIds.length, `${p.title}: refIds unique`);
          for (const t of p.targets) {
            assert.ok(t.refId, `${p.title}: refId`);
            assert.ok(typeof t.expr === 'string' && t.expr.trim().length > 0, `${p.title} ${t.refId}: empty expr`);
            assert.equal(t.datasource?.uid, '${datasource}', `${p.title} ${t.refId}: query datasource`);
            for (const v of variablesUsed(t.expr)) {
              assert.ok(GRAFANA_BUILTINS.has(v) || defined.has(v), `${p.title} ${t.refId}: variable $${v} is not defined`);
            }
          }
        }
      });
    });
  }

  it('every query is valid PromQL (promtool parses it), the annotations\' too', () => {
    const annotations = annotationQueries('1m');
    assert.deepEqual(annotations.map((a) => a.panel).sort(), ['annotation: Executor phases', 'annotation: Faults']);
    const queries = [...panelQueries('1m'), ...annotations];
    assert.ok(queries.length > 50, `${queries.length} queries`);
    const dir = mkdtempSync(join(tmpdir(), 'wa-dash-promql-'));
    try {
      const lines = ['groups:', '  - name: dashboard-queries', '    rules:'];
      queries.forEach((q, i) => {
        assert.doesNotMatch(q.promql, /\$/, `${q.dashboard} / ${q.panel} ${q.refId}: unexpanded variable`);
        lines.push(`      - record: dashboard:query_${i}:check`, `        expr: ${JSON.stringify(q.promql)}`);
      });
      writeFileSync(join(dir, 'q.yml'), `${lines.join('\n')}\n`);
      const r = spawnSync('promtool', ['check', 'rules', join(dir, 'q.yml')], { encoding: 'utf8' });
      if (r.error) assert.fail(`promtool: ${r.error.message} (apt-get install -y prometheus)`);
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
