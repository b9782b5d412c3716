// What each loadgen command accepts, as tables (./flags.ts turns each into
// its parser and its --help). Adding a flag here is the only way to make the
// parser accept it, so the help is complete by construction.
import { HELP_FLAG, type CommandSpec } from './flags';

const EXIT_CODES = 'exit codes (k6\'s): 0 ok; 99 a threshold failed, abortOnFail stopped the run, or the send accounting does not add up; ' +
  '104 invalid flags, options or scenario (nothing started); 105 stopped from outside (SIGINT or SIGTERM; the partial summary is written, ' +
  'a second signal stops at once); 1 anything else.';

export const RUN_COMMAND: CommandSpec = {
  name: 'run',
  args: '<scenario>',
  summary: 'Runs a load scenario (scenarios/<name>.ts, <name>, or a compiled .js module) and writes summary.json, summary.txt, junit.xml ' +
    'and report.html under --out. Without --target it starts the system here (loopback, embedded store) with its own token secret and stops ' +
    'it at the end; with --target it loads a running system anywhere (ws:// or wss://, any host), and the users\' tokens come from a token ' +
    'provider: --secret (mint them), --token-file, or --register.',
  flags: [
    { name: 'target', type: 'string', value: 'url[,url...]', help: 'gateway WebSocket URLs of a running system (ws:// or wss://, any host); users are spread over them in blocks' },
    { name: 'ca-file', type: 'string', value: 'pem', help: 'wss://: trust the CA certificate(s) in this PEM file instead of Node\'s bundled roots' },
    { name: 'insecure-skip-tls-verify', type: 'boolean', default: false, help: 'wss://: do not verify the server\'s certificate at all (k6\'s insecureSkipTLSVerify; labs only, warns loudly)' },
    { name: 'secret', type: 'string', value: 'S', help: 'token provider "local secret": mint tokens with the target\'s HMAC secret (or WA_TOKEN_SECRET); never written to any output' },
    { name: 'token-file', type: 'string', value: 'path', help: 'token provider "file": one "<user_id> <token>" per line, or JSON lines {"user_id":N,"token":"..."}; the first <users> are used' },
    { name: 'register', type: 'boolean', default: false, help: 'token provider "registration": register every user through POST /v1/register/code and /v1/register on the target' },
    { name: 'verification-codes', type: 'string', value: 'path', help: 'with --register: where the codes arrive (the target\'s file code sender, <data dir>/verification-codes.log)' },
    { name: 'chat-target', type: 'string', value: 'host:port', help: 'the chat service\'s gRPC address, to provision the run\'s users in bulk (needs --secret)' },
    { name: 'driver', type: 'string', value: 'system|bare', default: 'system', help: 'system: the real protocol; bare: a bare relay (test fixtures, benches)' },
    { name: 'transport', type: 'string', value: 'lean|ws', default: 'lean', help: 'the WebSocket client: our lean one, or the ws package as a cross-check' },
    { name: 'duration', type: 'string', value: 'dur', help: 'override every executor\'s duration (e.g. 30s, 2m)' },
    { name: 'scale', type: 'string', value: 'x', help: 'multiply the scenario\'s scale factor (rates and users)' },
    { name: 'users', type: 'string', value: 'N', help: 'override the traffic model\'s user count (after --scale)' },
    { name: 'e2ee', type: 'string', value: 'on|off', help: 'override the traffic model\'s traffic.e2ee: every 1:1 and group body encrypted end to end with libsignal by the generator\'s simulated devices (real system only)' },
    { name: 'shard', type: 'string', value: 'i/N', default: '1/1', help: 'run shard i of N (1-based); shards started with one --start-at merge losslessly (loadgen merge)' },
    { name: 'procs', type: 'string', value: 'N', default: '1', help: 'split the run over N load generator processes here and merge them (past ~20k connections)' },
    { name: 'workers', type: 'string', value: 'N', help: 'worker threads of this process (default: the cores, bounded by the users)' },
    { name: 'start-at', type: 'string', value: 'epoch ms|ISO', help: 'the common start time of the measured window (shards on several machines)' },
    { name: 'user-base', type: 'string', value: 'N', help: 'first user id of the run (minted tokens); default: a fresh range' },
    { name: 'topology', type: 'string', value: 'GxM', help: 'start the multi-node topology (G gateways behind HAProxy, M chat nodes, etcd, Redis) instead of one process; not with --target' },
    { name: 'store', type: 'string', value: 'sqlite|cassandra', help: 'the topology\'s shared store: sqlite (one file, default) or cassandra (a 3-node Cassandra 5 cluster, RF=3, LOCAL_QUORUM, started here and wiped at the end; fault target `cassandra` 0..2)' },
    { name: 'cassandra-cluster', type: 'string', value: 'dir', help: 'with --store cassandra: reuse the cluster scripts/cassandra.sh cluster-start runs in this dir (WA_CASSANDRA_CLUSTER_DIR; started if not running) and leave it running' },
    { name: 'local-addresses', type: 'string', value: '127.a.b.c-127.a.b.d', help: 'loopback source addresses to spread connections over (more than 64k connections)' },
    { name: 'out', type: 'string', value: 'dir', help: 'the run\'s directory (default results/<run-id>)' },
    { name: 'run-id', type: 'string', value: 'id', help: 'the run\'s id (default: time and scenario name)' },
    { name: 'summary-export', type: 'string', value: 'path', help: 'also write the end-of-test summary (summary.json\'s content) to this file, like k6\'s --summary-export' },
    { name: 'interval', type: 'string', value: 'dur', help: 'timeline and progress interval (default 1s)' },
    { name: 'metrics-port', type: 'string', value: '0|port|off', default: '0', help: 'serve the generator\'s /metrics on 127.0.0.1 (0: a free port)' },
    { name: 'remote-write', type: 'string', value: 'url', help: 'push the run\'s series every interval to a Prometheus remote-write endpoint (e.g. http://host:9090/api/v1/write; labels run_id, scenario, shard); drops are counted in the summary\'s warnings' },
    { name: 'quiet', type: 'boolean', default: false, help: 'no live progress line' },
    { name: 'start-on-stdin', type: 'boolean', default: false, internal: true, help: 'print READY after setup, then wait for "START <epoch ms>" on stdin (a --procs parent drives this shard)' },
    HELP_FLAG,
  ],
  notes: [
    'TLS: wss:// targets are verified against --ca-file or Node\'s bundled roots, with SNI from the URL\'s host name (never for an IP).',
    'Signals: SIGINT or SIGTERM stops the run gracefully: in-flight messages get the delivery grace, every scheduled iteration is ' +
      'accounted for, and the partial summary (marked aborted) is written before exit 105.',
    EXIT_CODES,
  ],
};

export const MERGE_COMMAND: CommandSpec = {
  name: 'merge',
  args: '<run dir> <run dir>...',
  summary: 'Merges the summaries of shards (each run dir holds a summary.json) into one run: counts summed, percentiles from the merged HDR histograms.',
  flags: [
    { name: 'out', type: 'string', value: 'dir', help: 'the merged run\'s directory (default results/<run-id>-merged)' },
    { name: 'quiet', type: 'boolean', default: false, help: 'do not print the merged summary' },
    HELP_FLAG,
  ],
  notes: [EXIT_CODES],
};

export const COMPARE_COMMAND: CommandSpec = {
  name: 'compare',
  args: '<run A> <run B>',
  summary: 'Compares two runs (each a run dir with a summary.json, or the file): every metric side by side with B/A, trend percentiles ' +
    'recomputed from the stored HDR histograms, integrity counts, CPU per message, and the perf gate\'s rule on per-interval samples; ' +
    'prints the table and writes compare.txt, compare.json and compare.html (overlaid latency distributions) under --out.',
  flags: [
    { name: 'out', type: 'string', value: 'dir', help: 'where compare.{txt,json,html} go (default results/compare-<A run id>-vs-<B run id>)' },
    { name: 'fail-on-worse', type: 'boolean', default: false, help: 'exit 99 when the gate\'s rule finds B worse than A on a per-interval metric' },
    { name: 'quiet', type: 'boolean', default: false, help: 'do not print the table' },
    HELP_FLAG,
  ],
  notes: ['A is the reference: ratios are B/A. ' + EXIT_CODES],
};

export const LIST_COMMAND: CommandSpec = {
  name: 'list',
  args: '',
  summary: 'Lists the built scenarios, the executors, the workloads and the metrics thresholds can name.',
  flags: [HELP_FLAG],
  notes: [],
};

export const COMMANDS: readonly CommandSpec[] = [RUN_COMMAND, MERGE_COMMAND, COMPARE_COMMAND, LIST_COMMAND];

export const GENERAL_USAGE = [
  'usage: loadgen <command> [flags]',
  '',
  'commands:',
  ...COMMANDS.map((c) => `  ${c.name.padEnd(9)}${c.summary.split('. ')[0]!.replace(/\.$/, '')}.`),
  '',
  '`loadgen <command> --help` describes every flag of a command.',
].join('\n');
