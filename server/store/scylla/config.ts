// The ScyllaDB store's configuration: the settings and their defaults live in
// server/common/config-scylla.ts (with every other setting of the system); this
// module turns the chat service's and migrate's command-line flags into
// overrides of them.
import type { ScyllaConfig } from '../../common/config-scylla';

export {
  BUCKET_MS_DEFAULT, CONSISTENCY_NAMES, parseBool, SCYLLA_DEFAULTS, scyllaConfig, scyllaConfigFromEnvironment, type ConsistencyName, type ScyllaConfig,
} from '../../common/config-scylla';

/** The chat service's and this command's flags, as config overrides. */
export function flagOverrides(values: Record<string, string | boolean | undefined>): Partial<ScyllaConfig> {
  const over: Partial<ScyllaConfig> = {};
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const int = (k: string) => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${k}=${v}: must be a positive integer`);
    return n;
  };
  if (str('contact-points') !== undefined) over.contact_points = str('contact-points')!.split(',').map((s) => s.trim()).filter(Boolean);
  if (str('keyspace') !== undefined) over.keyspace = str('keyspace');
  if (str('local-dc') !== undefined) over.local_dc = str('local-dc');
  if (str('consistency') !== undefined) over.consistency = str('consistency')!.toUpperCase() as ScyllaConfig['consistency'];
  if (int('rf') !== undefined) over.replication_factor = int('rf');
  if (int('bucket-ms') !== undefined) over.bucket_ms = int('bucket-ms');
  if (values.migrate === true) over.migrate = true;
  return over;
}
