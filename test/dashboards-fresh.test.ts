// The committed dashboard JSON is what its jsonnet source compiles to today
// (Debian's jsonnet): edit the .jsonnet, run dashboards/build.sh, commit both.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARDS_DIR } from './helpers/dashboard-queries';

describe('dashboards are fresh', () => {
  const sources = readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.jsonnet')).sort();

  it('there is an overview, a per-tier and a load-run dashboard, each with its generated JSON', () => {
    for (const name of ['overview.jsonnet', 'tiers.jsonnet', 'load-run.jsonnet']) assert.ok(sources.includes(name), `dashboards/${name}`);
    const json = readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(json, sources.map((s) => s.replace(/\.jsonnet$/, '.json')), 'one .json per .jsonnet, no orphans');
  });

  for (const src of sources) {
    it(`${src} compiles to the committed ${src.replace(/\.jsonnet$/, '.json')}`, () => {
      const r = spawnSync('jsonnet', [src], { cwd: DASHBOARDS_DIR, encoding: 'utf8' });
      if (r.error) assert.fail(`jsonnet: ${r.error.message} (apt-get install -y jsonnet, or dashboards/build.sh installs it)`);
      assert.equal(r.status, 0, r.stderr);
      const out = join(DASHBOARDS_DIR, src.replace(/\.jsonnet$/, '.json'));
      assert.ok(existsSync(out), `${out} missing: run dashboards/build.sh`);
      assert.equal(readFileSync(out, 'utf8'), r.stdout, `${out} is stale: run dashboards/build.sh and commit the JSON`);
    });
  }
});
