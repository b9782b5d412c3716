#!/usr/bin/env bash
# S3Proxy (an S3-API server, filesystem backend) for the S3 blob store's tests
# and bench (server/media/s3-blob-store.ts, docs/design/022-media.md).
#
# Usage: scripts/s3proxy.sh fetch|start DIR|stop DIR
#   fetch       download org.gaul:s3proxy (jar with dependencies) from Maven Central into the cache (once)
#   start DIR   start one server on a free 127.0.0.1 port with its buckets under DIR/data, wait until it
#               answers, print "<endpoint> <access key> <secret key>" on stdout; pid and log in DIR
#   stop DIR    stop the server started in DIR (SIGTERM, SIGKILL after 10 s)
#
# Environment (all optional):
#   WA_S3PROXY_HOME     cache of the downloaded jar (default ~/.cache/wa-scale/s3proxy)
#   WA_S3PROXY_VERSION  S3Proxy version             (default 2.6.0)
#   WA_S3PROXY_PORT     port                        (default: a free one)
#   WA_S3PROXY_WAIT_S   how long start waits        (default 60)
set -euo pipefail

CACHE="${WA_S3PROXY_HOME:-$HOME/.cache/wa-scale/s3proxy}"
VERSION="${WA_S3PROXY_VERSION:-2.6.0}"
JAR="$CACHE/s3proxy-$VERSION-jar-with-dependencies.jar"
WAIT_S="${WA_S3PROXY_WAIT_S:-60}"
# Pinned, so the fetch does not depend on the Maven installation's default plugin version.
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

log() { echo "s3proxy: $*" >&2; }
die() { log "$*"; exit 1; }

apt_install() {
  command -v apt-get >/dev/null || die "$* missing and no apt-get to install it"
  log "installing $* with apt-get"
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

cmd_fetch() {
  [ -f "$JAR" ] && return 0
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  mkdir -p "$CACHE"
  local tmp
  tmp="$(mktemp -d "$CACHE/.fetch.XXXXXX")"
  log "fetching org.gaul:s3proxy:$VERSION from Maven Central"
  (cd "$tmp" && mvn -B -q -Dstyle.color=never "$DEP_PLUGIN:copy" \
    -Dartifact="org.gaul:s3proxy:$VERSION:jar:jar-with-dependencies" -DoutputDirectory="$tmp" 2>&1 |
    sed 's/\x1b\[[0-9;]*m//g; /^$/d' >&2) || { rm -rf "$tmp"; die "Maven could not resolve org.gaul:s3proxy:$VERSION"; }
  mv "$tmp/s3proxy-$VERSION-jar-with-dependencies.jar" "$JAR"
  rm -rf "$tmp"
  log "S3Proxy $VERSION ready in $JAR"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

cmd_start() {
  local dir="${1:?usage: s3proxy.sh start DIR}"
  cmd_fetch
  mkdir -p "$dir/data"
  dir="$(cd "$dir" && pwd)"
  local port="${WA_S3PROXY_PORT:-$(free_port)}"
  local key secret
  key="wa-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  secret="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
  cat >"$dir/s3proxy.properties" <<EOF
s3proxy.endpoint=http://127.0.0.1:$port
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$key
s3proxy.credential=$secret
jclouds.provider=filesystem
jclouds.filesystem.basedir=$dir/data
jclouds.identity=$key
jclouds.credential=$secret
EOF
  # A small heap: the filesystem backend streams objects; 256 MB is plenty for tests and the bench.
  nohup java -Xmx256m -jar "$JAR" --properties "$dir/s3proxy.properties" >"$dir/s3proxy.log" 2>&1 &
  echo $! >"$dir/s3proxy.pid"
  local deadline=$((SECONDS + WAIT_S))
  # Anonymous requests get 403 once it serves: any HTTP status means up.
  until curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do
    kill -0 "$(cat "$dir/s3proxy.pid")" 2>/dev/null || { tail -20 "$dir/s3proxy.log" >&2; die "S3Proxy exited while starting"; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$dir/s3proxy.log" >&2; die "S3Proxy did not answer on port $port within $WAIT_S s"; }
    sleep 0.2
  done
  echo "http://127.0.0.1:$port $key $secret"
}

cmd_stop() {
  local dir="${1:?usage: s3proxy.sh stop DIR}"
  [ -f "$dir/s3proxy.pid" ] || return 0
  local pid
  pid="$(cat "$dir/s3proxy.pid")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/s3proxy.pid"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) die "usage: s3proxy.sh fetch|start DIR|stop DIR" ;;
esac
