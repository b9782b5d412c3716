#!/usr/bin/env bash
# A single Apache Cassandra 5 node on 127.0.0.1 for the ScyllaDB store's tests
# (ScyllaDB itself cannot be installed here; Cassandra speaks the same CQL).
#
# Usage: scripts/cassandra.sh fetch|start|stop|status|wait|port|nodetool ARGS...|wipe
#   fetch     download Cassandra from Maven Central with Maven into the cache (once)
#   start     start the node (or reuse one already answering), wait for CQL, print the port on stdout
#   stop      stop it: SIGTERM (Cassandra drains), SIGKILL after WA_CASSANDRA_STOP_TIMEOUT_S
#   status    "running" (exit 0) or "stopped" (exit 3); "running but not answering CQL" exits 1
#   wait      wait until CQL answers on the node's port (WA_CASSANDRA_WAIT_S, default 120)
#   port      print the node's CQL port (the one `start` chose)
#   nodetool  run nodetool against the node over local JMX
#   wipe      delete the node's data (only when stopped)
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
HEAP="${MAX_HEAP_SIZE:-1G}"
# Cassandra mlockall()s its memory at start: a small initial heap is what makes
# that (and the RSS next to a benchmark) cheap. Production sets -Xms = -Xmx.
HEAP_MIN="${WA_CASSANDRA_HEAP_MIN:-256M}"
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

port_busy() { # something listens on 127.0.0.1:$1 (or on all addresses)
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() { # $1 = explicit value (may be empty), $2 = default: the explicit port, or the first free from the default
  local p="$2"
  if [ -n "$1" ]; then echo "$1"; return; fi
  while port_busy "$p"; do p=$((p + 1)); done
  echo "$p"
}

cql_ping() { # $1 = port, $2 = timeout seconds: waits for CQL, prints the release version
  [ -d "$REPO_ROOT/node_modules/cassandra-driver" ] || die "cassandra-driver is not installed: run make install (npm ci) first"
  node "$REPO_ROOT/scripts/cassandra-ping.mjs" --port "$1" --timeout "$2"
}

# --- start / stop ---------------------------------------------------------------

write_conf() { # $1 native port, $2 storage port
  local conf="$NODE_DIR/conf"
  mkdir -p "$conf" "$NODE_DIR/logs" "$NODE_DIR/data" "$NODE_DIR/commitlog" "$NODE_DIR/saved_caches" \
    "$NODE_DIR/hints" "$NODE_DIR/cdc_raw" "$NODE_DIR/triggers"
  touch "$MARKER"
  cat >"$conf/cassandra.yaml" <<EOF
# Written by scripts/cassandra.sh on every start: edit the script, not this file.
# One node on loopback, tuned to start fast and stay small next to a benchmark.
cluster_name: wa-scale-test
# One token: no token allocation work, and a one-node ring needs no more.
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
# SimpleSnitch names the data centre "datacenter1" (the driver's localDataCenter).
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:$2"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
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
    -Dcassandra.ring_delay_ms=100 \
    -Dcassandra.superuser_setup_delay_ms=0 \
    -Dcassandra.memtable.row_overhead_size=180 \
    -Dcassandra.unsafesystem=true \
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
    log "reusing Cassandra $version on 127.0.0.1:$port (pid $pid)"
    echo "$port"
    return 0
  fi
  # Someone else's node (CI's, another checkout's) answering on the asked-for port: reuse it.
  port="${WA_CASSANDRA_PORT:-9042}"
  if port_busy "$port" && version="$(cql_ping "$port" 3 2>/dev/null)"; then
    log "reusing Cassandra $version already answering on 127.0.0.1:$port (not started by this script)"
    echo "$port"
    return 0
  fi
  [ -n "${WA_CASSANDRA_PORT:-}" ] && port_busy "$port" && die "port $port (WA_CASSANDRA_PORT) is taken and does not answer CQL"
  cmd_fetch
  need_java
  port="$(pick_port "${WA_CASSANDRA_PORT:-}" 9042)"
  storage="$(pick_port "${WA_CASSANDRA_STORAGE_PORT:-}" 7000)"
  jmx="$(pick_port "${WA_CASSANDRA_JMX_PORT:-}" 7199)"
  for p in "$storage" "$jmx"; do port_busy "$p" && die "port $p is taken"; done
  rm -f "$PID_FILE"
  write_conf "$port" "$storage"
  printf 'native=%s\nstorage=%s\njmx=%s\n' "$port" "$storage" "$jmx" >"$PORTS_FILE"
  local flags=()
  mapfile -t flags < <(jvm_flags "$jmx")
  log "starting Cassandra $VERSION ($JAVA, heap $HEAP) on 127.0.0.1:$port (storage $storage, jmx $jmx), node dir $NODE_DIR"
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
  log "Cassandra $(cat "$NODE_DIR/.version") ready on 127.0.0.1:$port (pid $pid) in $(elapsed "$t0") s"
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
  version="$(cql_ping "$port" "$WAIT_S")" || die "CQL did not answer on 127.0.0.1:$port within ${WAIT_S}s"
  log "Cassandra $version answering on 127.0.0.1:$port ($(elapsed "$t0") s)"
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

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  wait) cmd_wait ;;
  port) recorded_port ;;
  nodetool) shift; cmd_nodetool "$@" ;;
  wipe) cmd_wipe ;;
  *)
    sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
