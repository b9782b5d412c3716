#!/usr/bin/env bash
# Compile the Grafana dashboards: dashboards/<name>.jsonnet -> dashboards/<name>.json
# with Debian's jsonnet (installed with apt-get when absent).
#   dashboards/build.sh           write the JSON (commit it with the sources)
#   dashboards/build.sh --check   exit 1 if any committed JSON differs from its source
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v jsonnet >/dev/null; then
  echo "dashboards: installing Debian's jsonnet with apt-get"
  apt-get install -y -qq jsonnet >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq jsonnet >/dev/null; }
fi

check=0
[ "${1:-}" = "--check" ] && check=1
stale=0
for src in *.jsonnet; do
  out="${src%.jsonnet}.json"
  tmp="$(mktemp)"
  jsonnet "$src" >"$tmp"
  if [ "$check" = 1 ]; then
    if ! cmp -s "$tmp" "$out"; then
      echo "dashboards: $out is stale (run dashboards/build.sh)" >&2
      stale=1
    fi
    rm -f "$tmp"
  else
    mv "$tmp" "$out"
    echo "dashboards: $out"
  fi
done
exit "$stale"
