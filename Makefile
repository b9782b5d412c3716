# The two commands a newcomer needs:
#   make run    start the system on its embedded defaults, run the smoke scenario, print the summary, write results/
#               (make run SCENARIO=fanout ARGS="--duration 20s"; scenarios/<name>.ts, `make scenarios` lists them)
#   make test   the whole test suite (installs what it needs first)
# Everything else is below. Targets install their own prerequisites.

NODE_MODULES_STAMP := node_modules/.install-stamp
BUILD_STAMP := dist/.build-stamp
TS_SOURCES := $(shell find lib server deploy loadgen tools scenarios bench test scripts -name '*.ts' 2>/dev/null) tsconfig.json
ARGS ?=
SCENARIO ?= smoke

.PHONY: run run-pairs scenarios test fuzz build install bench bench-abuse bench-groups bench-store bench-ws-client bench-loadgen bench-reaccept bench-failover bench-coordination bench-process-scaling bench-e2ee bench-directory bench-peers clean cassandra-fetch cassandra-start cassandra-stop cassandra-status cassandra-cluster-start cassandra-cluster-stop cassandra-cluster-status test-cluster capacity capacity-ramp capacity-probe prometheus prometheus-stop dashboards bench-metrics

run: $(BUILD_STAMP)
	node dist/loadgen/commands/cli.js run scenarios/$(SCENARIO).ts $(ARGS)

scenarios: $(BUILD_STAMP)
	node dist/loadgen/commands/cli.js list

# The plain 1:1 pair load (fixed rate, no scenario file): make run-pairs ARGS="--rate 5000 --duration 10"
run-pairs: $(BUILD_STAMP)
	node dist/loadgen/commands/run-pairs.js $(ARGS)

test: $(BUILD_STAMP)
	node scripts/run-tests.mjs $(ARGS)

# Fuzz targets (test/fuzz-*.test.ts, fast-check generators that know the protobuf, WebSocket, HTTP and scenario
# shapes): each target runs for WA_FUZZ_SECONDS (default 20 s) or WA_FUZZ_RUNS cases; `make test` runs each for a
# short count. Each prints its seed: WA_FUZZ_SEED=<seed> node --test dist/test/fuzz-<name>.test.js replays it.
fuzz: $(BUILD_STAMP)
	WA_FUZZ_SECONDS=$${WA_FUZZ_SECONDS:-20} node scripts/run-tests.mjs fuzz- $(ARGS)

install: $(NODE_MODULES_STAMP)

build: $(BUILD_STAMP)

$(NODE_MODULES_STAMP): package.json package-lock.json
	bash scripts/setup.sh
	touch $@

$(BUILD_STAMP): $(NODE_MODULES_STAMP) $(TS_SOURCES)
	npx tsc -p tsconfig.json
	touch $@

# Full path (gateway -> gRPC -> chat -> store -> gRPC -> gateway) vs the bare uWS forwarder, same load, one run.
bench: $(BUILD_STAMP)
	node dist/bench/full-vs-bare.js $(ARGS)

# Peers on the same workload: our full path vs Mosquitto QoS 1 vs NATS JetStream (file storage), same ramp, one run
# (docs/design/017-peers.md). make bench-peers ARGS="--step-seconds 2 --rates 2000,4000,8000 --json out.json"
bench-peers: $(BUILD_STAMP)
	node dist/bench/peers.js $(ARGS)

# 256-member group fan-out vs the bare uWS fan-out fixture; gateway syscalls per delivery with/without coalescing.
bench-groups: $(BUILD_STAMP)
	node dist/bench/group-fanout.js $(ARGS)

bench-store: $(BUILD_STAMP)
	node dist/bench/store-engines.js $(ARGS)

bench-ws-client: $(BUILD_STAMP)
	node dist/bench/ws-client-cost.js $(ARGS)

# The generator's per-message client path in process (no sockets): CPU and writes per message; ARGS="--baseline DIR" runs another build's client alternately.
bench-loadgen: $(BUILD_STAMP)
	node dist/bench/loadgen-client-cost.js $(ARGS)

# Re-accept rate: WebSocket (re)connects per second through HAProxy vs straight to the gateways, interleaved rounds, one run.
bench-reaccept: $(BUILD_STAMP)
	node dist/bench/reaccept.js $(ARGS)

# Coordination overhead: server CPU per message on 1 chat node vs 3, same load, alternating rounds (ARGS="--store cassandra": on a 3-node cluster).
bench-coordination: $(BUILD_STAMP)
	node dist/bench/coordination.js $(ARGS)

# USL over processes of this box: gateway CPU per message with 1, 2, 4 gateway processes, same load (for --profile in make capacity).
bench-process-scaling: $(BUILD_STAMP)
	node dist/bench/process-scaling.js $(ARGS)

# Failover: kill -9 a chat node (in turn) under a probe load, time until its partitions are served again, p50/max (ARGS="--store cassandra" too).
bench-failover: $(BUILD_STAMP)
	node dist/bench/failover.js $(ARGS)

# Routes and presence in Redis: route lookup in the replica vs a Redis round trip per message; Redis ops,
# bytes and replica time per connect/disconnect with 1 and 3 replicas (docs/design/014-directory.md).
bench-directory: $(BUILD_STAMP)
	node dist/bench/directory-cost.js $(ARGS)

# Gateway memory under abuse (a client that never reads, one user with 2,000 connections, 1,000 connections bursting
# at the rate limit): RSS before/peak/after and a probe pair's latency per phase (issue 15).
bench-abuse: $(BUILD_STAMP)
	node dist/bench/abuse-memory.js $(ARGS)

# Blob store MB/s, embedded files vs the S3-API engine on S3Proxy (scripts/s3proxy.sh): put, ranged get, dedupe (issue 19).
.PHONY: bench-blobs
bench-blobs: $(BUILD_STAMP)
	node dist/bench/blob-stores.js $(ARGS)

# Media through the real system: upload/download MB/s and MB per gateway CPU-second, and a 1 MB media message end to end
# (encrypt, upload, send, deliver, download, decrypt) at a fixed rate: p50/p99, integrity exact. ARGS="--store s3" on S3Proxy.
.PHONY: bench-media
bench-media: $(BUILD_STAMP)
	node dist/bench/media-http.js $(ARGS)

# End-to-end encryption: libsignal encrypt + decrypt us per message, ciphertext overhead bytes, prekey bundle
# fetches/s on the embedded store (ARGS="--cassandra": also on a Cassandra 5 node of its own); docs/design/021-e2ee.md.
bench-e2ee: $(BUILD_STAMP)
	node dist/bench/e2ee.js $(ARGS)

# Observability: Prometheus on 127.0.0.1:9090 scraping the local system (targets from WA_PROM_SD_DIR), dashboards from jsonnet.
prometheus:
	bash scripts/prometheus.sh start

prometheus-stop:
	bash scripts/prometheus.sh stop

dashboards:
	bash dashboards/build.sh

# Metrics on vs off, two systems side by side under the same load.
bench-metrics: $(BUILD_STAMP)
	node dist/bench/metrics-overhead.js --concurrent $(ARGS)

# CI performance-regression gate (docs/perf-gate.md): fixed scenario x 5 on fresh systems, compared with
# results/baselines/perf-gate.json by a noise-aware rule; exit 1 on a regression, 2 when it cannot judge.
#   make perf-gate; WA_DEBUG_SLOWDOWN_US=50 make perf-gate (the test aid: it must fail); make perf-gate-baseline (refresh, then commit)
.PHONY: perf-gate perf-gate-ab perf-gate-baseline profile profile-cost perf-gate-instr perf-gate-instr-baseline perf-gate-ci test-perf-gate
perf-gate: $(BUILD_STAMP)
	node dist/tools/perf-gate/cli.js run $(ARGS)

# The timed gate A/B: the baseline ref (default: merge base with main, or HEAD~1) built in a temp worktree, both
# measured in alternating pairs on fresh systems and judged within the run.  make perf-gate-ab ARGS="--pairs 5"
perf-gate-ab: $(BUILD_STAMP)
	node dist/tools/perf-gate/cli.js ab $(ARGS)

# The deterministic A/B gate (what CI runs): the baseline ref (default: merge base with main, or HEAD~1) built in a
# temp worktree, both run under callgrind interleaved, instructions per message judged (+2%); exit 1 regression, 2 cannot judge.
#   make perf-gate-instr ARGS="--baseline-ref <ref> --slowdown-chat-pct 5"; make perf-gate-instr-baseline (refresh the fallback file)
perf-gate-instr: $(BUILD_STAMP)
	node dist/tools/perf-gate/instr-gate.js $(ARGS)

perf-gate-instr-baseline: $(BUILD_STAMP)
	node dist/tools/perf-gate/instr-gate.js --record --runs 3 $(ARGS)

# CI's form (.ci/run, after make test): bounded to 15 min by the gate's budget and 20 min by timeout(1).
perf-gate-ci: $(BUILD_STAMP)
	timeout 1200 node dist/tools/perf-gate/instr-gate.js --budget-s 900 --out results/perf-gate-ci $(ARGS)

# The gate's A/B tests against a real baseline build (~4-6 min; make test runs only their short form).
test-perf-gate: $(BUILD_STAMP)
	WA_TEST_PERF_GATE_AB=1 node --test dist/test/perf-gate-instr.test.js dist/test/perf-gate-ab-timed.test.js

perf-gate-baseline: $(BUILD_STAMP)
	node dist/tools/perf-gate/cli.js baseline $(ARGS)

# The server under clinic doctor and flame while a scenario runs; reports in results/<run-id>/profile/<tool>/.
#   make profile SCENARIO=smoke [ARGS="--process both --duration 10s"]
profile: $(BUILD_STAMP)
	NO_INSIGHT=1 node dist/tools/profiler/cli.js $(SCENARIO) $(ARGS)

# Where the µs of a message go: the 1:1 pair load with every process under V8's profiler, CPU per message of the chat
# service, the gateway and the generator split by bucket (ours, gRPC, protobufjs, SQLite, http2, GC, native).
#   make profile-cost ARGS="--rate 6000 --duration 10"
profile-cost: $(BUILD_STAMP)
	node dist/tools/profiler/cost-table.js $(ARGS)

# Capacity model: the seed's estimates recomputed, what they leave out, the fleet projected from measured runs.
#   make capacity-ramp; make capacity-probe; make capacity ARGS="--results results/<ramp-run> --results results/<probe-run>"
capacity: $(BUILD_STAMP)
	node dist/tools/capacity-model/cli.js $(ARGS)

capacity-ramp: $(BUILD_STAMP)
	node dist/tools/capacity-model/ramp.js $(ARGS)

capacity-probe: $(BUILD_STAMP)
	node dist/tools/capacity-model/probe.js $(ARGS)

# Apache Cassandra 5 (same CQL protocol as ScyllaDB) for the ScyllaDB store: fetched from Maven Central
# into ~/.cache/wa-scale/cassandra (outside the repo), one node on 127.0.0.1 with a small heap.
cassandra-fetch:
	bash scripts/cassandra.sh fetch

cassandra-start: $(NODE_MODULES_STAMP)
	bash scripts/cassandra.sh start

cassandra-stop:
	bash scripts/cassandra.sh stop

cassandra-status:
	bash scripts/cassandra.sh status

# A 3-node cluster on 127.0.0.1-127.0.0.3 (same CQL port on each address, 640M heap each), data in
# ~/.cache/wa-scale/cassandra/cluster (WA_CASSANDRA_CLUSTER_DIR); prints the contact points.
# Use it with WA_STORE=scylla WA_SCYLLA_CONTACT_POINTS=<the printed list> WA_SCYLLA_RF=3 WA_SCYLLA_MIGRATE=1.
cassandra-cluster-start: $(NODE_MODULES_STAMP)
	bash scripts/cassandra.sh cluster-start

cassandra-cluster-stop:
	bash scripts/cassandra.sh cluster-stop

cassandra-cluster-status:
	bash scripts/cassandra.sh cluster-status

# The slow form of test/scylla-cluster.test.ts (make test runs its short form): a 3-node cluster, kill -9 of a
# node under load, restart and rejoin, every acked message read back; a scenario on topology 1x2 (--store cassandra)
# that kills Cassandra node 2 at 3 s for 4 s; the store conformance suite on RF=3. ~8-10 min.
test-cluster: $(BUILD_STAMP)
	WA_TEST_CASSANDRA_CLUSTER=full node --test dist/test/scylla-cluster.test.js

clean:
	rm -rf dist
