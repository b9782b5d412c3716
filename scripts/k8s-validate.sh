#!/usr/bin/env bash
# Validate Kubernetes manifests (default: every deploy/k8s/**/*.yaml) against
# the Kubernetes OpenAPI schemas, offline once installed: the npm package
# kubernetes-models (ajv validators generated from the Kubernetes OpenAPI
# spec) and yaml, pinned, installed with npm into a cache directory OUTSIDE the
# repository (the repository's node_modules is shared and must not change).
#
#   scripts/k8s-validate.sh [file.yaml...]
#
# Environment: WA_K8S_VALIDATOR_DIR (default ${TMPDIR:-/tmp}/wa-k8s-validator).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${WA_K8S_VALIDATOR_DIR:-${TMPDIR:-/tmp}/wa-k8s-validator}"
MODELS_VERSION=5.1.0
YAML_VERSION=2.9.1

if [ ! -f "$dir/node_modules/kubernetes-models/package.json" ] || \
   [ "$(node -p "require('$dir/node_modules/kubernetes-models/package.json').version")" != "$MODELS_VERSION" ]; then
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private":true}' >"$dir/package.json"
  echo "k8s-validate: installing kubernetes-models@$MODELS_VERSION and yaml@$YAML_VERSION into $dir" >&2
  # --ignore-scripts: nothing of theirs runs at install time.
  (cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error "kubernetes-models@$MODELS_VERSION" "yaml@$YAML_VERSION" >&2)
fi

if [ "$#" -eq 0 ]; then
  mapfile -t files < <(find "$repo/deploy/k8s" -name '*.yaml' | sort)
  set -- "${files[@]}"
fi
exec node "$repo/scripts/k8s-validate.mjs" "$dir" "$@"
