#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine with Node 20 and npm.
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" != "20" ]; then
  echo "setup: Node 20 is required (uWebSockets.js ships a binary for ABI 115); found $(node --version)" >&2
  exit 1
fi

# better-sqlite3 builds from source when no prebuilt binary can be fetched: it needs a C++ toolchain and python3.
# (The ScyllaDB store tests fetch Cassandra with Maven and a JDK: scripts/cassandra.sh installs those when missing.)
need_apt=()
command -v g++ >/dev/null || need_apt+=(g++)
command -v make >/dev/null || need_apt+=(make)
command -v python3 >/dev/null || need_apt+=(python3)
# Observability tests: promtool (Debian's prometheus package) and jsonnet (dashboards).
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v jsonnet >/dev/null || need_apt+=(jsonnet)
# The HTML report's test: Debian's Chromium, driven by playwright-core (never `npx playwright install`: it downloads a browser).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# The multi-node topology and its tests: etcd (partition ownership), Redis (routes and presence), HAProxy (in front
# of the gateways). The project starts its own instances on free ports; the Debian services are not used.
command -v etcd >/dev/null || need_apt+=(etcd-server)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v haproxy >/dev/null || need_apt+=(haproxy)
# The wss:// tests make a throwaway CA and server certificate with the openssl command line.
command -v openssl >/dev/null || need_apt+=(openssl)
# The peers bench (bench/peers.ts) and its drivers' tests: Mosquitto (MQTT) and nats-server (JetStream). The project
# starts its own on free ports; the Debian services are not used. Both live in /usr/sbin, outside a plain user's PATH.
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null || need_apt+=(mosquitto)
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null || need_apt+=(nats-server)
# Network faults in the cluster tests (a node cut off from etcd): nftables drops on a loopback address.
command -v nft >/dev/null || need_apt+=(nftables)
# The sharded-run rehearsal (test/loadgen-netns-shards.test.ts): one network namespace and veth pair per shard.
command -v ip >/dev/null || need_apt+=(iproute2)
# The deterministic performance gate (tools/perf-gate/callgrind.ts, run by .ci/run): valgrind's callgrind.
[ -x /usr/bin/valgrind ] || need_apt+=(valgrind)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} with apt-get"
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi

echo "setup: npm ci"
npm ci --no-audit --no-fund
