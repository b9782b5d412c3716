// Validates Kubernetes manifests offline against the Kubernetes OpenAPI
// schemas, as compiled by the npm package kubernetes-models (one ajv
// validator per OpenAPI definition, generated from the Kubernetes API's
// OpenAPI spec), installed by scripts/k8s-validate.sh into a cache directory
// outside the repository's node_modules (which it must never touch).
//
//   node scripts/k8s-validate.mjs <validator dir> <file.yaml>...
//
// Every document must have an apiVersion/kind that has a schema (strict), or
// be a custom resource listed in CUSTOM_RESOURCES, whose schema ships with
// its operator and not here: those are only checked for apiVersion, kind,
// metadata.name and a spec object, and reported as such. Prints one line per
// document and a JSON summary on the last line; exit 1 on any error.
//
// Unknown fields are errors too (what `kubectl apply --validate=strict` says
// server-side): the OpenAPI schemas do not forbid them, so the compiled
// validators accept `replcas: 3` silently. The document is validated through
// a Proxy that records which keys the validator reads: a generated validator
// reads every property its schema defines (`data.replicas` even when absent)
// and every key of a map (labels, env values, resources), so a key of an
// object that nothing read is one the schema does not define. It is reported
// with its path (/spec/template/spec/containers/0/imagePullPolicyy). A schema
// that allows any object (RawExtension, FieldsV1) would look unknown here;
// none of our manifests uses one.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const CUSTOM_RESOURCES = new Set(['scylla.scylladb.com/v1 ScyllaCluster']);
/** Documents a file may hold: a manifest set, not a data dump. */
const DOCUMENTS_MAX = 100;
const FILE_BYTES_MAX = 1024 * 1024;

const [dir, ...files] = process.argv.slice(2);
if (!dir || files.length === 0) {
  process.stderr.write('usage: node scripts/k8s-validate.mjs <validator dir> <file.yaml>...\n');
  process.exit(2);
}
const require = createRequire(join(dir, 'package.json'));
const YAML = require('yaml');
const schemas = join(dir, 'node_modules', 'kubernetes-models', '_schemas');

/** apps/v1 Deployment -> IoK8sApiAppsV1Deployment; v1 Service -> IoK8sApiCoreV1Service; networking.k8s.io/v1 Ingress -> IoK8sApiNetworkingV1Ingress. */
function schemaName(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const g = group.split('.')[0];
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  return `IoK8sApi${cap(g)}${cap(version)}${kind}`;
}

const pointer = (key) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * `value` behind Proxies that record, per object, the keys read (get, has). Returns the proxy and a
 * function listing the paths of keys never read after validation. Child proxies are cached per key, so
 * reads through any route accumulate on one record.
 */
function tracking(value) {
  const records = [];
  const wrap = (v, path) => {
    if (v === null || typeof v !== 'object') return v;
    const read = new Set();
    const children = new Map();
    records.push({ obj: v, path, read });
    return new Proxy(v, {
      get(t, k, r) {
        const x = Reflect.get(t, k, r);
        if (typeof k !== 'string' || !Object.hasOwn(t, k)) return x;
        read.add(k);
        if (x === null || typeof x !== 'object') return x;
        // A JSON pointer (RFC 6901): ~ and / escaped.
        if (!children.has(k)) children.set(k, wrap(x, `${path}/${pointer(k)}`));
        return children.get(k);
      },
      has(t, k) {
        if (typeof k === 'string') read.add(k);
        return Reflect.has(t, k);
      },
    });
  };
  const proxy = wrap(value, '');
  const unread = () => records.flatMap(({ obj, path, read }) =>
    Array.isArray(obj) ? [] : Object.keys(obj).filter((k) => !read.has(k)).map((k) => `${path}/${pointer(k)}`));
  return { proxy, unread };
}

const report = { documents: 0, validated: [], custom: [], errors: [] };
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  if (text.length > FILE_BYTES_MAX) throw new Error(`${file}: over ${FILE_BYTES_MAX} bytes`);
  const docs = YAML.parseAllDocuments(text);
  if (docs.length > DOCUMENTS_MAX) throw new Error(`${file}: over ${DOCUMENTS_MAX} documents`);
  for (const [i, d] of docs.entries()) {
    const where = `${file}#${i}`;
    if (d.errors.length) {
      report.errors.push(`${where}: YAML: ${d.errors[0].message}`);
      continue;
    }
    const obj = d.toJS();
    if (obj === null) continue;
    report.documents++;
    const id = `${obj.apiVersion} ${obj.kind}`;
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      report.errors.push(`${where}: no apiVersion/kind`);
      continue;
    }
    if (CUSTOM_RESOURCES.has(id)) {
      const ok = typeof obj.metadata?.name === 'string' && typeof obj.spec === 'object' && obj.spec !== null;
      if (ok) report.custom.push(`${where} ${id} ${obj.metadata.name}`);
      else report.errors.push(`${where}: ${id} needs metadata.name and a spec`);
      process.stdout.write(`${ok ? 'custom' : 'ERROR '} ${where} ${id} (no schema here: the operator's CRD holds it)\n`);
      continue;
    }
    const name = schemaName(obj.apiVersion, obj.kind);
    let validate;
    try {
      ({ validate } = await import(pathToFileURL(join(schemas, `${name}.js`)).href));
    } catch {
      report.errors.push(`${where}: no schema ${name} for ${id} (misspelled kind or apiVersion?)`);
      process.stdout.write(`ERROR  ${where} ${id}: no schema ${name}\n`);
      continue;
    }
    const { proxy, unread } = tracking(obj);
    const valid = validate(proxy);
    // Only a valid document was read whole: a failing validator may stop early.
    const unknown = valid ? unread() : [];
    if (valid && unknown.length === 0) {
      report.validated.push(`${where} ${id} ${obj.metadata?.name} (${name})`);
      process.stdout.write(`ok     ${where} ${id} ${obj.metadata?.name} against ${name}\n`);
    } else if (valid) {
      for (const path of unknown.slice(0, 5)) report.errors.push(`${where} ${id} ${obj.metadata?.name}: ${path} unknown field (not in ${name})`);
      process.stdout.write(`ERROR  ${where} ${id} ${obj.metadata?.name}: ${unknown.length} unknown field(s): ${unknown.slice(0, 5).join(', ')}\n`);
    } else {
      for (const e of validate.errors.slice(0, 5)) report.errors.push(`${where} ${id} ${obj.metadata?.name}: ${e.instancePath || '/'} ${e.keyword} ${JSON.stringify(e.params)}`);
      process.stdout.write(`ERROR  ${where} ${id} ${obj.metadata?.name}: ${validate.errors.length} schema error(s)\n`);
    }
  }
}
process.stdout.write(JSON.stringify(report) + '\n');
process.exit(report.errors.length ? 1 : 0);
