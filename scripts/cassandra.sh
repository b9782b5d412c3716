#!/usr/bin/env bash
# Apache Cassandra 5 for the ScyllaDB store's tests (ScyllaDB itself cannot be
# installed here; Cassandra speaks the same CQL): one node on 127.0.0.1, or a
# local cluster of N nodes on 127.0.0.1..127.0.0.N (loopback aliases: Linux
# routes all of 127/8 to lo, no setup needed).
#
# Usage: scripts/cassandra.sh fetch|start|stop|status|wait|port|nodetool ARGS...|wipe
#        scripts/cassandra.sh cluster-start|cluster-stop|cluster-status|cluster-wipe
#   fetch     download Cassandra from Maven Central with Maven into the cache (once)
#   start     start the node (or reuse one already answering), wait for CQL, print the port on stdout
#   stop      stop it: SIGTERM (Cassandra drains), SIGKILL after WA_CASSANDRA_STOP_TIMEOUT_S
#   status    "running" (exit 0) or "stopped" (exit 3); "running but not answering CQL" exits 1
#   wait      wait until CQL answers on the node's port (WA_CASSANDRA_WAIT_S, default 120)
#   port      print the node's CQL port (the one `start` chose)
#   nodetool  run nodetool against the node over local JMX
#   wipe      delete the node's data (only when stopped)
#   cluster-start   start (or reuse) WA_CASSANDRA_NODES nodes (default 3) under WA_CASSANDRA_CLUSTER_DIR,
#                   one at a time (node i joins only after node i-1 answers CQL), wait until every node
#                   reports all of them Up/Normal; print the contact points (127.0.0.1:P,127.0.0.2:P,...)
#   cluster-stop    stop every node of the cluster (in parallel)
#   cluster-status  each node's status, then `nodetool status` (exit 0 only when all are UN)
#   cluster-wipe    delete the cluster's data (only when every node is stopped)
#
# Environment (all optional):
#   WA_CASSANDRA_HOME       cache of downloaded distributions   (default ~/.cache/wa-scale/cassandra)
#   WA_CASSANDRA_DATA       the node: data, commitlog, conf, logs, pid  (default $WA_CASSANDRA_HOME/node)
#   WA_CASSANDRA_VERSION    Cassandra version                   (default 5.0.9)
#   WA_CASSANDRA_PORT       CQL port      (default 9042; when not set and 9042 is taken, the next free port)
#   WA_CASSANDRA_STORAGE_PORT  internode port (default 7000, same rule)
#   WA_CASSANDRA_JMX_PORT   local JMX port for nodetool         (default 7199, same rule)
#   MAX_HEAP_SIZE           JVM heap (-Xmx)                     (default 1G)
#   WA_CASSANDRA_HEAP_MIN   initial heap (-Xms)                 (default 256M)
#   WA_CASSANDRA_WAIT_S     how long start/wait wait for CQL    (default 120)
#   WA_CASSANDRA_STOP_TIMEOUT_S  SIGTERM grace before SIGKILL   (default 60)
#   WA_CASSANDRA_JAVA       the java binary to use (Cassandra 5.0 runs on Java 11 and 17 only)
#   WA_CASSANDRA_LISTEN     the node's address (listen, rpc)   (default 127.0.0.1)
#   WA_CASSANDRA_SEEDS      seed list host:port                 (default the node itself)
#   WA_CASSANDRA_INITIAL_TOKEN  the node's one token            (default 0)
#   WA_CASSANDRA_CLUSTER_NAME   cluster_name                    (default wa-scale-test)
#   WA_CASSANDRA_UNSAFE_SYSTEM  1: skip fsync of schema changes (fast DDL, single test node; default 1)
#   WA_CASSANDRA_RING_DELAY_MS  gossip settling before a join  (default 100; cluster nodes 5000)
#   WA_CASSANDRA_CLUSTER_DIR    the cluster's node dirs         (default $WA_CASSANDRA_HOME/cluster)
#   WA_CASSANDRA_NODES      nodes of the cluster (1-9)          (default 3)
#   WA_CASSANDRA_CLUSTER_WAIT_S  how long cluster-start waits for all nodes UN (default 180)
# A node's address, seeds, token, ports and heap are recorded in its dir at each
# start; a later `start` of the same dir (a restart after kill -9) reuses them.
#
# Where Cassandra comes from: Maven Central does not carry the 5.x binary
# tarball (org.apache.cassandra:apache-cassandra:<v>:tar.gz:bin is absent for
# 5.0.4 to 5.0.9, checked 2026-11-28; its metadata stops at 4.0-alpha2), so `fetch` resolves
# org.apache.cassandra:cassandra-all:<version> and its runtime dependencies
# with Maven into <cache>/apache-cassandra-<version>/lib, and this script
# supplies what the tarball's bin/ and conf/ would: cassandra.yaml,
# logback.xml and the JVM flags of conf/jvm17-server.options. No cqlsh and no
# cassandra-stress (neither is published on Maven Central).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${WA_CASSANDRA_HOME:-$HOME/.cache/wa-scale/cassandra}"
VERSION="${WA_CASSANDRA_VERSION:-5.0.9}"
DIST="$CACHE/apache-cassandra-$VERSION"
NODE_DIR="${WA_CASSANDRA_DATA:-$CACHE/node}"
PID_FILE="$NODE_DIR/cassandra.pid"
PORTS_FILE="$NODE_DIR/ports"
MARKER="$NODE_DIR/.wa-cassandra-node"
# What a previous start of this node dir recorded (address, seeds, token, ports): a restart reuses it.
recorded() { [ -f "$PORTS_FILE" ] && awk -F= -v k="$1" '$1 == k { print substr($0, length(k) + 2) }' "$PORTS_FILE" || true; }
LISTEN="${WA_CASSANDRA_LISTEN:-$(recorded listen)}"
LISTEN="${LISTEN:-127.0.0.1}"
SEEDS="${WA_CASSANDRA_SEEDS:-$(recorded seeds)}"
INITIAL_TOKEN="${WA_CASSANDRA_INITIAL_TOKEN:-$(recorded initial_token)}"
INITIAL_TOKEN="${INITIAL_TOKEN:-0}"
CLUSTER_NAME="${WA_CASSANDRA_CLUSTER_NAME:-$(recorded cluster_name)}"
CLUSTER_NAME="${CLUSTER_NAME:-wa-scale-test}"
UNSAFE_SYSTEM="${WA_CASSANDRA_UNSAFE_SYSTEM:-$(recorded unsafe_system)}"
UNSAFE_SYSTEM="${UNSAFE_SYSTEM:-1}"
# Gossip settling: 100 ms is plenty for one node; a joining node of a cluster on a loaded 2-core box needs
# seconds to hear from the seed (at 100 ms a join failed with "Unable to contact any seeds").
RING_DELAY_MS="${WA_CASSANDRA_RING_DELAY_MS:-$(recorded ring_delay_ms)}"
RING_DELAY_MS="${RING_DELAY_MS:-100}"
CLUSTER_DIR="${WA_CASSANDRA_CLUSTER_DIR:-$CACHE/cluster}"
HEAP="${MAX_HEAP_SIZE:-$(recorded heap)}"
HEAP="${HEAP:-1G}"
# Cassandra mlockall()s its memory at start: a small initial heap is what makes
# that (and the RSS next to a benchmark) cheap. Production sets -Xms = -Xmx.
HEAP_MIN="${WA_CASSANDRA_HEAP_MIN:-$(recorded heap_min)}"
HEAP_MIN="${HEAP_MIN:-256M}"
WAIT_S="${WA_CASSANDRA_WAIT_S:-120}"
STOP_TIMEOUT_S="${WA_CASSANDRA_STOP_TIMEOUT_S:-60}"
# Pinned, so the fetch does not depend on the Maven installation's default
# plugin version (Debian's Maven 3.8 picks maven-dependency-plugin 2.8).
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

log() { echo "cassandra: $*" >&2; }
die() { log "$*"; exit 1; }
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# --- prerequisites ----------------------------------------------------------

apt_install() {
  command -v apt-get >/dev/null || die "$* missing and no apt-get to install it"
  log "installing $* with apt-get"
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

java_major() { # prints the major version of the java binary $1 ("" if it does not run)
  "$1" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit }'
}

find_java() {
  local c major
  for c in "${WA_CASSANDRA_JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)" \
    /usr/lib/jvm/java-17-openjdk-*/bin/java /usr/lib/jvm/java-11-openjdk-*/bin/java; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    major="$(java_major "$c")"
    if [ "$major" = 17 ] || [ "$major" = 11 ]; then echo "$c"; return 0; fi
  done
  return 1
}

JAVA=""
need_java() {
  [ -n "$JAVA" ] && return 0
  if ! JAVA="$(find_java)"; then
    apt_install openjdk-17-jre-headless
    JAVA="$(find_java)" || die "no Java 11 or 17 found (Cassandra 5.0 runs on those only); set WA_CASSANDRA_JAVA"
  fi
}

# --- fetch ------------------------------------------------------------------

cmd_fetch() {
  if [ -f "$DIST/.complete" ]; then
    log "Cassandra $VERSION already in $DIST"
    return 0
  fi
  need_java
  command -v mvn >/dev/null || apt_install maven
  local t0 tmp
  t0="$(now_s)"
  mkdir -p "$CACHE"
  tmp="$(mktemp -d "$CACHE/.fetch.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>wa-scale</groupId>
  <artifactId>cassandra-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>$VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  log "fetching org.apache.cassandra:cassandra-all:$VERSION and its dependencies from Maven Central"
  (cd "$tmp" && mvn -B -q -Dstyle.color=never -f pom.xml "$DEP_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$tmp/dist/lib" 2>&1 | sed 's/\x1b\[[0-9;]*m//g; /^$/d' >&2) ||
    die "Maven could not resolve cassandra-all:$VERSION (set WA_CASSANDRA_VERSION to a 5.0.x that Maven Central serves)"
  [ -f "$tmp/dist/lib/cassandra-all-$VERSION.jar" ] || die "cassandra-all-$VERSION.jar missing after Maven ran"
  # Jars for other platforms are dead weight (and netty-all duplicates the split netty jars: harmless).
  rm -f "$tmp"/dist/lib/*-osx-*.jar "$tmp"/dist/lib/*-windows-*.jar "$tmp"/dist/lib/*-linux-riscv64.jar
  touch "$tmp/dist/.complete"
  rm -rf "$DIST"
  mv "$tmp/dist" "$DIST"
  rm -rf "$tmp"
  trap - EXIT
  log "Cassandra $VERSION ready in $DIST ($(du -sh "$DIST" | cut -f1), $(elapsed "$t0") s)"
}

# --- node state ---------------------------------------------------------------

read_pid() { [ -f "$PID_FILE" ] && tr -dc '0-9' <"$PID_FILE" || true; }

is_our_java() { # the pid is alive and is a JVM running our node
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-Dwa.cassandra.node=$NODE_DIR "
}

running_pid() {
  local pid
  pid="$(read_pid)"
  if is_our_java "$pid"; then echo "$pid"; fi
}

recorded_port() { # the CQL port of the node (recorded by start), else the configured one
  if [ -f "$PORTS_FILE" ]; then awk -F= '$1 == "native" { print $2 }' "$PORTS_FILE"; else echo "${WA_CASSANDRA_PORT:-9042}"; fi
}

port_busy() { # something listens on $2:$1 (default the node's address), or on all addresses
  (exec 3<>"/dev/tcp/${2:-$LISTEN}/$1") 2>/dev/null
}

pick_port() { # $1 = explicit value (may be empty), $2 = default: the explicit port, or the first free from the default
  local p="$2"
  if [ -n "$1" ]; then echo "$1"; return; fi
  while port_busy "$p"; do p=$((p + 1)); done
  echo "$p"
}

cql_ping() { # $1 = port, $2 = timeout seconds: waits for CQL, prints the release version
  [ -d "$REPO_ROOT/node_modules/cassandra-driver" ] || die "cassandra-driver is not installed: run make install (npm ci) first"
  node "$REPO_ROOT/scripts/cassandra-ping.mjs" --host "$LISTEN" --port "$1" --timeout "$2"
}

# --- start / stop ---------------------------------------------------------------

write_conf() { # $1 native port, $2 storage port
  local conf="$NODE_DIR/conf"
  mkdir -p "$conf" "$NODE_DIR/logs" "$NODE_DIR/data" "$NODE_DIR/commitlog" "$NODE_DIR/saved_caches" \
    "$NODE_DIR/hints" "$NODE_DIR/cdc_raw" "$NODE_DIR/triggers"
  touch "$MARKER"
  cat >"$conf/cassandra.yaml" <<EOF
# Written by scripts/cassandra.sh on every start: edit the script, not this file.
# A node on loopback, tuned to start fast and stay small next to a benchmark.
cluster_name: $CLUSTER_NAME
# One token per node, evenly spaced by cluster-start: no token allocation work,
# and an even split of a small ring (a 3-node ring with RF=3 puts every row on every node anyway).
num_tokens: 1
initial_token: $INITIAL_TOKEN
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
# SimpleSnitch names the data centre "datacenter1" (the driver's localDataCenter).
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "${SEEDS:-$LISTEN:$2}"
listen_address: $LISTEN
rpc_address: $LISTEN
storage_port: $2
native_transport_port: $1
start_native_transport: true
data_file_directories:
  - $NODE_DIR/data
commitlog_directory: $NODE_DIR/commitlog
saved_caches_directory: $NODE_DIR/saved_caches
hints_directory: $NODE_DIR/hints
cdc_raw_directory: $NODE_DIR/cdc_raw
# ScyllaDB's and Cassandra's default: acknowledged writes are in the commitlog
# (OS page cache) and fsynced every 10 s; a process kill loses nothing acked.
commitlog_sync: periodic
commitlog_sync_period: 10000ms
# Test node: no snapshot on TRUNCATE/DROP (tests drop keyspaces often).
auto_snapshot: false
snapshot_before_compaction: false
# A fresh single node needs no 4.x on-disk compatibility.
storage_compatibility_mode: NONE
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
concurrent_compactors: 1
# Two cores: keep the thread pools modest.
concurrent_reads: 16
concurrent_writes: 32
concurrent_counter_writes: 16
EOF
  cat >"$conf/logback.xml" <<'EOF'
<configuration scan="false">
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>${cassandra.logdir}/system.log</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy">
      <fileNamePattern>${cassandra.logdir}/system.log.%d{yyyy-MM-dd}.%i.gz</fileNamePattern>
      <maxFileSize>20MB</maxFileSize>
      <maxHistory>2</maxHistory>
      <totalSizeCap>100MB</totalSizeCap>
    </rollingPolicy>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="SYSTEMLOG" /></root>
</configuration>
EOF
  cat >"$conf/logback-tools.xml" <<'EOF'
<configuration scan="false">
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%-5level %date{ISO8601} %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="STDERR" /></root>
</configuration>
EOF
}

# conf/jvm17-server.options and jvm17-clients.options of the distribution: the
# module exports and opens Cassandra needs on Java 11+.
JPMS=(
  -Djdk.attach.allowAttachSelf=true
  --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED
  --add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
  --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED
  --add-exports=java.sql/java.sql=ALL-UNNAMED
  --add-exports=java.base/java.lang.ref=ALL-UNNAMED
  --add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
  --add-exports=jdk.attach/sun.tools.attach=ALL-UNNAMED
  --add-opens=java.base/java.lang.module=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.loader=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.math=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.module=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED
  --add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-exports=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/java.math=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
)

jvm_flags() { # $1 jmx port
  local jamm
  jamm="$(ls "$DIST"/lib/jamm-*.jar | head -1)"
  printf '%s\n' \
    "-Dwa.cassandra.node=$NODE_DIR" \
    -Xms"$HEAP_MIN" -Xmx"$HEAP" -Xss256k -XX:+CrashOnOutOfMemoryError \
    -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1 -XX:MaxGCPauseMillis=300 \
    -XX:G1RSetUpdatingPauseTimePercent=5 -XX:InitiatingHeapOccupancyPercent=70 \
    -XX:+UseThreadPriorities -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath="$NODE_DIR/logs" \
    -XX:+UseTLAB -XX:+ResizeTLAB -XX:+PerfDisableSharedMem \
    -ea -da:net.openhft... \
    -Djava.net.preferIPv4Stack=true \
    "-javaagent:$jamm" \
    "${JPMS[@]}" \
    -Dio.netty.tryReflectionSetAccessible=true \
    -Dio.netty.allocator.useCacheForAllThreads=true \
    -Dio.netty.allocator.maxOrder=11 \
    "-Dcassandra.config=file://$NODE_DIR/conf/cassandra.yaml" \
    "-Dlogback.configurationFile=file://$NODE_DIR/conf/logback.xml" \
    "-Dcassandra.logdir=$NODE_DIR/logs" \
    "-Dcassandra.storagedir=$NODE_DIR" \
    "-Dcassandra.triggers_dir=$NODE_DIR/triggers" \
    "-Dcassandra.jmx.local.port=$1" \
    -Dcassandra.skip_wait_for_gossip_to_settle=0 \
    "-Dcassandra.ring_delay_ms=$RING_DELAY_MS" \
    -Dcassandra.superuser_setup_delay_ms=0 \
    -Dcassandra.memtable.row_overhead_size=180 \
    -Dcassandra.unsafesystem="$([ "$UNSAFE_SYSTEM" = 1 ] && echo true || echo false)" \
    -Dcassandra.shutdown_announce_in_ms=0 \
    -Dcassandra.test.messagingService.nonGracefulShutdown=true \
    -Dchronicle.announcer.disable=true \
    -Dcassandra.test.ignore_sigar=true
}

cmd_start() {
  local t0 pid port storage jmx version
  t0="$(now_s)"
  pid="$(running_pid)"
  if [ -n "$pid" ]; then
    port="$(recorded_port)"
    log "node already running (pid $pid), waiting for CQL on port $port"
    version="$(cql_ping "$port" "$WAIT_S")" || die "node pid $pid does not answer CQL on port $port; see $NODE_DIR/logs/system.log"
    log "reusing Cassandra $version on $LISTEN:$port (pid $pid)"
    echo "$port"
    return 0
  fi
  # Someone else's node (CI's, another checkout's) answering on the asked-for port: reuse it.
  port="${WA_CASSANDRA_PORT:-9042}"
  if port_busy "$port" && version="$(cql_ping "$port" 3 2>/dev/null)"; then
    log "reusing Cassandra $version already answering on $LISTEN:$port (not started by this script)"
    echo "$port"
    return 0
  fi
  [ -n "${WA_CASSANDRA_PORT:-}" ] && port_busy "$port" && die "port $port (WA_CASSANDRA_PORT) is taken and does not answer CQL"
  cmd_fetch
  need_java
  port="$(pick_port "${WA_CASSANDRA_PORT:-}" 9042)"
  storage="$(pick_port "${WA_CASSANDRA_STORAGE_PORT:-}" 7000)"
  # JMX listens on 127.0.0.1 whatever the node's address (nodetool's local JMX): every node needs its own port.
  jmx="${WA_CASSANDRA_JMX_PORT:-}"
  if [ -z "$jmx" ]; then jmx=7199; while port_busy "$jmx" 127.0.0.1; do jmx=$((jmx + 1)); done; fi
  port_busy "$storage" && die "port $storage is taken on $LISTEN"
  port_busy "$jmx" 127.0.0.1 && die "port $jmx (JMX) is taken on 127.0.0.1"
  rm -f "$PID_FILE"
  write_conf "$port" "$storage"
  printf 'native=%s\nstorage=%s\njmx=%s\nlisten=%s\nseeds=%s\ninitial_token=%s\ncluster_name=%s\nunsafe_system=%s\nring_delay_ms=%s\nheap=%s\nheap_min=%s\n' \
    "$port" "$storage" "$jmx" "$LISTEN" "$SEEDS" "$INITIAL_TOKEN" "$CLUSTER_NAME" "$UNSAFE_SYSTEM" "$RING_DELAY_MS" "$HEAP" "$HEAP_MIN" >"$PORTS_FILE"
  local flags=()
  mapfile -t flags < <(jvm_flags "$jmx")
  log "starting Cassandra $VERSION ($JAVA, heap $HEAP) on $LISTEN:$port (storage $storage, jmx $jmx), node dir $NODE_DIR"
  # Its own session (setsid), so Ctrl-C on a make target does not take the node
  # down with it. `exec` keeps the PID: the one written is the JVM's own.
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
    "$JAVA" "${flags[@]}" -cp "$NODE_DIR/conf:$DIST/lib/*" org.apache.cassandra.service.CassandraDaemon \
    </dev/null >"$NODE_DIR/logs/stdout.log" 2>&1 &
  local launched=$!
  local deadline=$((SECONDS + 5))
  while [ ! -s "$PID_FILE" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  pid="$(read_pid)"
  [ -n "$pid" ] || pid="$launched"
  echo "$pid" >"$PID_FILE"
  # Wait for CQL, but give up at once if the JVM dies (bad config, port clash).
  local pinger
  cql_ping "$port" "$WAIT_S" >"$NODE_DIR/.version" &
  pinger=$!
  while kill -0 "$pinger" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      kill "$pinger" 2>/dev/null || true
      log "the JVM (pid $pid) exited during startup; last lines of its logs:"
      tail -n 20 "$NODE_DIR/logs/stdout.log" >&2 || true
      grep -E "ERROR|Exception" "$NODE_DIR/logs/system.log" 2>/dev/null | tail -n 10 >&2 || true
      rm -f "$PID_FILE"
      exit 1
    fi
    sleep 0.2
  done
  if ! wait "$pinger"; then
    log "CQL did not answer on port $port within ${WAIT_S}s; stopping pid $pid (logs: $NODE_DIR/logs)"
    cmd_stop
    exit 1
  fi
  log "Cassandra $(cat "$NODE_DIR/.version") ready on $LISTEN:$port (pid $pid) in $(elapsed "$t0") s"
  echo "$port"
}

cmd_stop() {
  local pid t0
  pid="$(running_pid)"
  if [ -z "$pid" ]; then
    log "not running"
    rm -f "$PID_FILE"
    return 0
  fi
  t0="$(now_s)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT_S))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid still alive after ${STOP_TIMEOUT_S}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  log "stopped pid $pid in $(elapsed "$t0") s"
}

cmd_status() {
  local pid port
  pid="$(running_pid)"
  if [ -z "$pid" ]; then echo "stopped"; return 3; fi
  port="$(recorded_port)"
  if cql_ping "$port" 3 >/dev/null 2>&1; then
    echo "running pid $pid port $port"
  else
    echo "running pid $pid port $port (not answering CQL yet)"
    return 1
  fi
}

cmd_wait() {
  local port version t0
  t0="$(now_s)"
  port="$(recorded_port)"
  version="$(cql_ping "$port" "$WAIT_S")" || die "CQL did not answer on $LISTEN:$port within ${WAIT_S}s"
  log "Cassandra $version answering on $LISTEN:$port ($(elapsed "$t0") s)"
  echo "$port"
}

cmd_nodetool() {
  local jmx
  [ -f "$DIST/.complete" ] || die "not fetched: run scripts/cassandra.sh fetch"
  need_java
  jmx="$(awk -F= '$1 == "jmx" { print $2 }' "$PORTS_FILE" 2>/dev/null)"
  "$JAVA" -Xmx256m "-Dlogback.configurationFile=file://$NODE_DIR/conf/logback-tools.xml" "${JPMS[@]}" "-Dcassandra.logdir=$NODE_DIR/logs" \
    -cp "$DIST/lib/*" org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p "${jmx:-7199}" "$@"
}

cmd_wipe() {
  [ -z "$(running_pid)" ] || die "node is running: stop it first"
  if [ -d "$NODE_DIR" ]; then
    [ -f "$MARKER" ] || die "$NODE_DIR has no $(basename "$MARKER"): not a node dir of this script, refusing to delete it"
    rm -rf "$NODE_DIR"
    log "deleted $NODE_DIR"
  fi
}

# --- a local cluster ------------------------------------------------------------
# Nodes node1..nodeN under CLUSTER_DIR, node i on 127.0.0.i. Every node uses the
# same CQL and storage port on its own address (the ports are cluster-wide
# settings in Cassandra; distinct addresses make that possible on one host);
# JMX binds 127.0.0.1 for every node, so each node gets its own JMX port.

CLUSTER_NODES="${WA_CASSANDRA_NODES:-3}"
CLUSTER_WAIT_S="${WA_CASSANDRA_CLUSTER_WAIT_S:-180}"
CLUSTER_FILE="$CLUSTER_DIR/cluster"

cluster_value() { [ -f "$CLUSTER_FILE" ] && awk -F= -v k="$1" '$1 == k { print $2 }' "$CLUSTER_FILE" || true; }

free_everywhere() { # $1 = first candidate: the first port free on 127.0.0.1..127.0.0.N
  local p="$1" i busy
  for _ in $(seq 1 200); do
    busy=0
    for i in $(seq 1 "$CLUSTER_NODES"); do port_busy "$p" "127.0.0.$i" && { busy=1; break; }; done
    [ "$busy" = 0 ] && { echo "$p"; return 0; }
    p=$((p + 1))
  done
  die "no port free on every node address from $1 on"
}

cluster_tokens() { # evenly spaced Murmur3 tokens, one per node
  node -e 'const n = BigInt(process.argv[1]); for (let i = 0n; i < n; i++) console.log(String(-(2n ** 63n) + i * (2n ** 64n / n)))' "$CLUSTER_NODES"
}

cluster_node() { # $1 = node number, rest = the script's command: run it against that node's dir
  local i="$1"
  shift
  WA_CASSANDRA_DATA="$CLUSTER_DIR/node$i" bash "$0" "$@"
}

cmd_cluster_start() {
  local t0 native storage i jmx points token
  t0="$(now_s)"
  [[ "$CLUSTER_NODES" =~ ^[1-9]$ ]] || die "WA_CASSANDRA_NODES=$CLUSTER_NODES: 1 to 9 nodes (127.0.0.1-127.0.0.9)"
  cmd_fetch
  mkdir -p "$CLUSTER_DIR"
  native="$(cluster_value native)"
  storage="$(cluster_value storage)"
  if [ -z "$native" ]; then
    native="$(free_everywhere "${WA_CASSANDRA_PORT:-9042}")"
    storage="$(free_everywhere "${WA_CASSANDRA_STORAGE_PORT:-7000}")"
    [ "$storage" != "$native" ] || storage="$(free_everywhere $((native + 1)))"
    printf 'nodes=%s\nnative=%s\nstorage=%s\n' "$CLUSTER_NODES" "$native" "$storage" >"$CLUSTER_FILE"
  fi
  [ "$(cluster_value nodes)" = "$CLUSTER_NODES" ] || die "$CLUSTER_DIR holds a cluster of $(cluster_value nodes) nodes; wipe it (cluster-wipe) to change the count"
  log "cluster of $CLUSTER_NODES nodes in $CLUSTER_DIR: CQL port $native, storage port $storage, heap ${MAX_HEAP_SIZE:-640M} each"
  mapfile -t tokens < <(cluster_tokens)
  # One at a time: Cassandra refuses concurrent bootstraps (consistent range movement), and node i must see
  # the seed (node 1) answering before it gossips its way in.
  for i in $(seq 1 "$CLUSTER_NODES"); do
    token="${tokens[$((i - 1))]}"
    # The JMX port it had (a running node keeps it; start then only reuses the node), else a free one.
    jmx=""
    [ -f "$CLUSTER_DIR/node$i/ports" ] && jmx="$(awk -F= '$1 == "jmx" { print $2 }' "$CLUSTER_DIR/node$i/ports")"
    if [ -z "$jmx" ] || { port_busy "$jmx" 127.0.0.1 && ! cluster_node "$i" status >/dev/null 2>&1; }; then
      jmx=$((7199 + i * 10))
      while port_busy "$jmx" 127.0.0.1; do jmx=$((jmx + 1)); done
    fi
    WA_CASSANDRA_LISTEN="127.0.0.$i" WA_CASSANDRA_SEEDS="127.0.0.1:$storage" WA_CASSANDRA_INITIAL_TOKEN="$token" \
      WA_CASSANDRA_PORT="$native" WA_CASSANDRA_STORAGE_PORT="$storage" WA_CASSANDRA_JMX_PORT="$jmx" \
      WA_CASSANDRA_CLUSTER_NAME="${WA_CASSANDRA_CLUSTER_NAME:-wa-scale-cluster}" WA_CASSANDRA_UNSAFE_SYSTEM=0 \
      WA_CASSANDRA_RING_DELAY_MS="${WA_CASSANDRA_RING_DELAY_MS:-5000}" MAX_HEAP_SIZE="${MAX_HEAP_SIZE:-640M}" \
      cluster_node "$i" start >/dev/null || die "node $i (127.0.0.$i) did not start; logs: $CLUSTER_DIR/node$i/logs"
  done
  cluster_wait_up "$CLUSTER_WAIT_S" || die "not every node is Up/Normal after ${CLUSTER_WAIT_S}s: $(cluster_ring_summary)"
  points=""
  for i in $(seq 1 "$CLUSTER_NODES"); do points="${points:+$points,}127.0.0.$i:$native"; done
  log "cluster of $CLUSTER_NODES nodes up (all UN) in $(elapsed "$t0") s"
  echo "$points"
}

cluster_ring_summary() { # "UN 127.0.0.1, UN 127.0.0.2, ..." as node 1 (or the first answering node) sees the ring
  local i out
  for i in $(seq 1 "$CLUSTER_NODES"); do
    if out="$(cluster_node "$i" nodetool status 2>/dev/null)"; then
      echo "$out" | awk '/^[UD][NLJM] / { printf "%s%s %s", sep, $1, $2; sep = ", " }'
      return 0
    fi
  done
  echo "no node answers nodetool"
}

cluster_wait_up() { # $1 = seconds: until every node sees all CLUSTER_NODES nodes UN
  local deadline=$((SECONDS + $1)) i ok
  while [ $SECONDS -lt $deadline ]; do
    ok=1
    for i in $(seq 1 "$CLUSTER_NODES"); do
      [ "$(cluster_node "$i" nodetool status 2>/dev/null | grep -c '^UN ')" = "$CLUSTER_NODES" ] || { ok=0; break; }
    done
    [ "$ok" = 1 ] && return 0
    sleep 1
  done
  return 1
}

cmd_cluster_stop() {
  local i pids=()
  [ -d "$CLUSTER_DIR" ] || { log "no cluster in $CLUSTER_DIR"; return 0; }
  for i in $(seq 1 "$(cluster_value nodes || echo "$CLUSTER_NODES")"); do
    [ -d "$CLUSTER_DIR/node$i" ] || continue
    cluster_node "$i" stop &
    pids+=($!)
  done
  local rc=0
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return "$rc"
}

cmd_cluster_status() { # exit 0 only when every node runs, answers CQL, and the ring shows all UN
  local i n ring st rc=0
  n="$(cluster_value nodes)"
  [ -n "$n" ] || { echo "no cluster in $CLUSTER_DIR"; return 3; }
  for i in $(seq 1 "$n"); do
    st="$(cluster_node "$i" status 2>/dev/null)" || rc=1
    echo "node$i 127.0.0.$i: $st"
  done
  CLUSTER_NODES="$n"
  ring="$(cluster_ring_summary)"
  echo "ring: $ring"
  [ "$(echo "$ring" | grep -o 'UN ' | wc -l)" = "$n" ] || rc=1
  return "$rc"
}

cmd_cluster_wipe() {
  local i
  [ -d "$CLUSTER_DIR" ] || return 0
  for i in $(seq 1 "$(cluster_value nodes || echo 9)"); do
    [ -d "$CLUSTER_DIR/node$i" ] && cluster_node "$i" wipe
  done
  rm -f "$CLUSTER_FILE"
  rmdir "$CLUSTER_DIR" 2>/dev/null || true
  log "deleted the cluster in $CLUSTER_DIR"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  wait) cmd_wait ;;
  port) recorded_port ;;
  nodetool) shift; cmd_nodetool "$@" ;;
  wipe) cmd_wipe ;;
  cluster-start) cmd_cluster_start ;;
  cluster-stop) cmd_cluster_stop ;;
  cluster-status) cmd_cluster_status ;;
  cluster-wipe) cmd_cluster_wipe ;;
  *)
    sed -n '2,45p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
