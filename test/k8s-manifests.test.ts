// deploy/k8s/: the manifests validate against the Kubernetes OpenAPI schemas
// (scripts/k8s-validate.sh: kubernetes-models' validators, installed outside
// the repository's node_modules), a broken manifest does not, nor one with a
// field the schema does not define (refused with the field's path), and the
// generator's commands in them are what loadgen accepts: the shard Job's
// shell line, expanded by a real /bin/sh for each completion index, parses
// with `loadgen run`'s flag table into shard i+1 of N with the shared start
// time; the merge Job's glob finds every shard; the ConfigMap's scenario
// loads and plans.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, DIST_DIR } from '../server/common/paths';
import { parseCommand } from '../loadgen/commands/flags';
import { MERGE_COMMAND, RUN_COMMAND } from '../loadgen/commands/command-specs';
import { checkRunFlags, type RunFlagValues } from '../loadgen/commands/run-flags';
import { loadScenario } from '../loadgen/commands/scenario-files';
import { planRun } from '../loadgen/model/plan';

const SCRIPT = join(REPO_ROOT, 'scripts', 'k8s-validate.sh');
const VALIDATOR_DIR = process.env.WA_K8S_VALIDATOR_DIR ?? join(tmpdir(), 'wa-k8s-validator');
const K8S = join(REPO_ROOT, 'deploy', 'k8s');

interface Report { documents: number; validated: string[]; custom: string[]; errors: string[] }

function validate(files: string[] = []): { code: number | null; report: Report; out: string } {
  const r = spawnSync('bash', [SCRIPT, ...files], { encoding: 'utf8', timeout: 180_000, env: { ...process.env, WA_K8S_VALIDATOR_DIR: VALIDATOR_DIR } });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  assert.ok(last.startsWith('{'), `no report from k8s-validate.sh (exit ${r.status}): ${r.stdout.slice(-500)}${r.stderr.slice(-2000)}`);
  return { code: r.status, report: JSON.parse(last) as Report, out: r.stdout };
}

/** Kubernetes' own expansion of container args: $(VAR) of the container's env, $$ -> $. */
function kubeExpand(arg: string, env: Record<string, string>): string {
  return arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => (m === '$$' ? '$' : env[name!] ?? m));
}

/** The container's `sh -c` line run by a real shell, with `exec node <cli>` replaced by a printer of its argv. */
function argvOf(shellLine: string, env: Record<string, string>): string[] {
  const printer = shellLine.replace(/^exec node \S+/, `exec ${process.execPath} -e 'process.stdout.write(JSON.stringify(process.argv.slice(1)))' --`);
  const r = spawnSync('/bin/sh', ['-c', printer], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

describe('Kubernetes manifests (deploy/k8s)', { timeout: 240_000 }, () => {
  let docs: Record<string, any>[] = [];
  let YAML: { parseAllDocuments(text: string): { toJS(): unknown }[] };
  let all: ReturnType<typeof validate>;

  before(() => {
    all = validate();
    YAML = createRequire(join(VALIDATOR_DIR, 'package.json'))('yaml');
    const files = spawnSync('find', [K8S, '-name', '*.yaml'], { encoding: 'utf8' }).stdout.trim().split('\n');
    docs = files.flatMap((f) => YAML.parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as Record<string, any>)).filter(Boolean);
  });

  it('every manifest validates against the Kubernetes OpenAPI schemas (the ScyllaCluster only by shape: its CRD is the operator\'s)', () => {
    assert.equal(all.code, 0, all.report.errors.join('\n'));
    assert.deepEqual(all.report.errors, []);
    assert.equal(all.report.documents, docs.length);
    assert.equal(all.report.validated.length + all.report.custom.length, docs.length);
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
    for (const k of ['Job/wa-loadgen-shards', 'Job/wa-loadgen-merge', 'ConfigMap/wa-loadgen-scenario', 'Deployment/gateway', 'StatefulSet/chat',
      'Deployment/haproxy', 'Deployment/redis', 'StatefulSet/etcd', 'ScyllaCluster/scylla']) assert.ok(kinds.includes(k), `${k} in ${kinds.join(', ')}`);
    assert.deepEqual(all.report.custom.map((c) => c.split(' ').slice(1).join(' ')), ['scylla.scylladb.com/v1 ScyllaCluster scylla']);
  });

  it('a broken manifest fails: a wrong type, a misspelled kind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-k8s-bad-'));
    try {
      const job = docs.find((d) => d.metadata.name === 'wa-loadgen-shards')!;
      const bad = structuredClone(job);
      bad.spec.completions = 'four';
      const file = join(dir, 'bad.yaml');
      writeFileSync(file, `${JSON.stringify(bad)}\n---\n${JSON.stringify({ ...job, kind: 'Jobb' })}\n`);
      const r = validate([file]);
      assert.equal(r.code, 1);
      assert.equal(r.report.errors.length, 2, r.report.errors.join('\n'));
      assert.match(r.report.errors[0]!, /\/spec\/completions type/);
      assert.match(r.report.errors[1]!, /no schema IoK8sApiBatchV1Jobb/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a misspelled field is refused with its path, at any depth; map keys (labels) stay free', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-k8s-typo-'));
    try {
      const gateway = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'gateway')!;
      const typo = structuredClone(gateway);
      typo.spec.replcas = typo.spec.replicas;
      delete typo.spec.replicas;
      typo.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
      typo.metadata.labels = { ...typo.metadata.labels, 'app.kubernetes.io/any-key': 'is fine' };
      const job = structuredClone(docs.find((d) => d.metadata.name === 'wa-loadgen-shards')!);
      job.spec.template.spec.containers[0].env[0].valueFrm = { fieldRef: { fieldPath: 'metadata.name' } };
      const file = join(dir, 'typo.yaml');
      writeFileSync(file, `${JSON.stringify(typo)}\n---\n${JSON.stringify(job)}\n---\n${JSON.stringify(gateway)}\n`);
      const r = validate([file]);
      assert.equal(r.code, 1);
      assert.deepEqual(r.report.errors.map((e) => e.replace(/^.*?: /, '')).sort(), [
        '/spec/replcas unknown field (not in IoK8sApiAppsV1Deployment)',
        '/spec/template/spec/containers/0/env/0/valueFrm unknown field (not in IoK8sApiBatchV1Job)',
        '/spec/template/spec/containers/0/imagePullPolicyy unknown field (not in IoK8sApiAppsV1Deployment)',
      ]);
      assert.equal(r.report.validated.length, 1, 'the untouched gateway Deployment still validates');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the shard Job runs shard i+1 of N in pod i, all from one start time, with flags loadgen run accepts', () => {
    const job = docs.find((d) => d.metadata.name === 'wa-loadgen-shards')!;
    assert.equal(job.spec.completionMode, 'Indexed');
    const c = job.spec.template.spec.containers[0];
    const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value])) as Record<string, string>;
    const shards = Number(env.SHARDS);
    assert.equal(job.spec.completions, shards);
    assert.equal(job.spec.parallelism, shards, 'every shard at once');
    assert.deepEqual(c.command, ['/bin/sh', '-c']);
    const startAt = '2026-12-06T12:00:00Z';
    for (let i = 0; i < shards; i++) {
      const podEnv = { ...env, RUN_ID: 'r1', START_AT: startAt, JOB_COMPLETION_INDEX: String(i) };
      const argv = argvOf(kubeExpand(c.args[0], podEnv), podEnv);
      assert.equal(argv[0], 'run');
      const parsed = parseCommand(RUN_COMMAND, argv.slice(1));
      const flags = checkRunFlags(Object.fromEntries(Object.entries(parsed.values).filter(([, v]) => typeof v === 'string')) as RunFlagValues);
      assert.deepEqual(flags.shard, { index: i, count: shards });
      assert.equal(flags.startAtEpochMs, Date.parse(startAt));
      assert.equal(parsed.values.out, `/results/r1/shard-${i + 1}`);
      assert.equal(parsed.values['token-file'], '/tokens/tokens.txt', 'tokens from a file: no shard holds the server secret');
      assert.equal(parsed.values.secret, undefined);
      assert.deepEqual(parsed.positionals, ['/scenario/scenario.js']);
    }
  });

  it('the merge Job merges every shard directory of the run', () => {
    const job = docs.find((d) => d.metadata.name === 'wa-loadgen-merge')!;
    const c = job.spec.template.spec.containers[0];
    const results = mkdtempSync(join(tmpdir(), 'wa-k8s-results-'));
    try {
      for (let i = 1; i <= 4; i++) mkdirSync(join(results, 'r1', `shard-${i}`), { recursive: true });
      const line = kubeExpand(c.args[0], { RUN_ID: 'r1' }).replaceAll('/results/', `${results}/`);
      const argv = argvOf(line, { RUN_ID: 'r1' });
      const parsed = parseCommand(MERGE_COMMAND, argv.slice(1));
      assert.equal(argv[0], 'merge');
      assert.deepEqual(parsed.positionals, [1, 2, 3, 4].map((i) => join(results, 'r1', `shard-${i}`)));
      assert.equal(parsed.values.out, join(results, 'r1', 'merged'));
    } finally {
      rmSync(results, { recursive: true, force: true });
    }
  });

  it('the ConfigMap\'s scenario loads and plans with the image\'s model', () => {
    const cm = docs.find((d) => d.metadata.name === 'wa-loadgen-scenario')!;
    const dir = mkdtempSync(join(tmpdir(), 'wa-k8s-scenario-'));
    try {
      const file = join(dir, 'scenario.js');
      writeFileSync(file, (cm.data['scenario.js'] as string).replace("'/app/dist/", `'${DIST_DIR}/`));
      const { scenario } = loadScenario(file);
      const plan = planRun(scenario, {});
      assert.equal(plan.scenario, 'k8s-smoke');
      assert.ok(plan.traffic.users >= 4 * 1000, 'enough users for 4 shards');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
