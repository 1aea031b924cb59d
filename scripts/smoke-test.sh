#!/usr/bin/env bash
# Smoke test of a released image, by digest: run it and wait for any HTTP answer on its port 5002.
#
#   scripts/smoke-test.sh IMAGE_REF [ENV=VALUE…]
#
# IMAGE_REF is the candidate as the release names it (repo:tag@sha256:…, or any ref Docker accepts); each
# ENV=VALUE is passed to the container (the demo image needs SKIP_ML=1). Any HTTP answer on / counts, as the
# backend may answer 404 there; no answer within SMOKE_TIMEOUT seconds (default 120) or a container that stops
# fails, with the container's logs. The container is removed on every exit path.
set -euo pipefail

usage() { echo "usage: $0 IMAGE_REF [ENV=VALUE…]" >&2; exit 2; }
if [ "$#" -lt 1 ] || [ -z "$1" ]; then usage; fi
image_ref="$1"
shift
env_args=()
for assignment in "$@"; do
  [[ "$assignment" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "not an ENV=VALUE assignment: ${assignment}" >&2; usage; }
  env_args+=(--env "$assignment")
done
timeout_s="${SMOKE_TIMEOUT:-120}"
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || { echo "SMOKE_TIMEOUT must be whole seconds, got ${timeout_s}" >&2; exit 2; }
readonly container_port=5002

fail() {
  if [ "${GITHUB_ACTIONS:-}" = "true" ]; then echo "::error::smoke test of ${image_ref}: $1"; fi
  echo "smoke test failed: $1" >&2
  exit 1
}

container=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  if [ -n "$container" ]; then docker rm --force "$container" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
# A cancelled CI step or Ctrl-C still removes the container (EXIT runs after these).
trap 'exit 130' INT
trap 'exit 143' TERM

show_logs() {
  echo "--- last 200 lines of the container's logs ---" >&2
  docker logs --tail 200 "$container" >&2 2>&1 || true
  echo "--- end of logs ---" >&2
}

# A ref with a digest that is already here is that exact image (content addressed); otherwise pull it.
docker image inspect "$image_ref" >/dev/null 2>&1 || docker pull --quiet "$image_ref" >/dev/null

# Named before it exists, so a container created but not started is removed too.
container="finsight-smoke-$$-${RANDOM}"
# Loopback only, on a port Docker picks, so parallel runs and a busy 5002 on the runner cannot collide.
docker run --detach --pull never --name "$container" --label org.finsight.smoke-test=true \
  "${env_args[@]}" --publish "127.0.0.1::${container_port}" "$image_ref" >/dev/null
running() { [ "$(docker inspect --format '{{.State.Running}}' "$container" 2>/dev/null)" = "true" ]; }
stopped() {
  show_logs
  fail "the container stopped before it answered on port ${container_port}"
}

# A container that already stopped has no published port any more.
host_port="$(docker port "$container" "${container_port}/tcp" 2>/dev/null | head -n 1 | sed 's/.*://')" || true
if ! [[ "$host_port" =~ ^[0-9]+$ ]]; then
  running || stopped
  fail "Docker published no host port for ${container_port}/tcp"
fi
url="http://127.0.0.1:${host_port}/"

deadline=$((SECONDS + timeout_s))
attempt=0
while [ "$SECONDS" -lt "$deadline" ]; do
  attempt=$((attempt + 1))
  # No --fail: any HTTP status is an answer; only "no answer" fails.
  if curl --silent --output /dev/null --max-time 2 "$url"; then
    echo "${image_ref} answered HTTP on port ${container_port} after ${attempt} attempt(s)"
    exit 0
  fi
  running || stopped
  sleep 1
done
show_logs
fail "no HTTP answer on port ${container_port} within ${timeout_s} s"
