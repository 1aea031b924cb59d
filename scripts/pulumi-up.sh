#!/usr/bin/env bash
# One `pulumi up` on a stack, waiting for the stack instead of failing when another update holds it.
#
#   scripts/pulumi-up.sh STACK [--refuse-if-pinned] [-- PULUMI_UP_ARGS…]
#
# Releases and rollbacks of a stack are in different GitHub concurrency groups, so that a release waiting for
# approval never holds up a rollback (docs/RELEASING.md, "Queued runs"). What keeps two updates of one stack
# apart is Pulumi Cloud's own per-stack update lock: a second `pulumi up` is refused with "[409] Conflict:
# Another update is currently in progress." (the text Pulumi's Automation API tests for). pulumi/actions fails on
# that; this waits and tries again, for at most PULUMI_UP_WAIT seconds (default 3600), every PULUMI_UP_RETRY
# seconds (default 30). A conflict happens before the update starts, so trying again changes nothing twice.
#
# --refuse-if-pinned: before every attempt (the first, and each after waiting), refuse when the stack serves a
# rollback pin (its pinnedVersion output): a release that waited behind a rollback must not undo it.
set -euo pipefail

usage() { echo "usage: $0 STACK [--refuse-if-pinned] [-- PULUMI_UP_ARGS…]" >&2; exit 2; }
if [ "$#" -lt 1 ] || [ -z "$1" ]; then usage; fi
stack="$1"
shift
refuse_if_pinned=false
if [ "${1:-}" = "--refuse-if-pinned" ]; then refuse_if_pinned=true; shift; fi
if [ "$#" -gt 0 ]; then
  [ "$1" = "--" ] || usage
  shift
fi
wait_s="${PULUMI_UP_WAIT:-3600}"
retry_s="${PULUMI_UP_RETRY:-30}"
[[ "$wait_s" =~ ^[0-9]+$ ]] || { echo "PULUMI_UP_WAIT must be whole seconds, got ${wait_s}" >&2; exit 2; }
[[ "$retry_s" =~ ^[1-9][0-9]*$ ]] || { echo "PULUMI_UP_RETRY must be whole seconds, got ${retry_s}" >&2; exit 2; }
readonly conflict='[409] Conflict: Another update is currently in progress.'

error() {
  if [ "${GITHUB_ACTIONS:-}" = "true" ]; then echo "::error::$1"; fi
  echo "$1" >&2
}

refuse_when_pinned() {
  local outputs pinned
  # Every output as JSON: an absent pinnedVersion is "not rolled back"; a failing read fails the run.
  outputs="$(pulumi stack output --json --stack "$stack")"
  pinned="$(jq -r '.pinnedVersion // empty' <<<"$outputs")"
  if [ -n "$pinned" ]; then
    error "stack ${stack} is rolled back to ${pinned} (finsight:pin); roll forward first (docs/ROLLBACK.md), then release again"
    exit 1
  fi
}

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
deadline=$((SECONDS + wait_s))
while true; do
  if [ "$refuse_if_pinned" = true ]; then refuse_when_pinned; fi
  status=0
  pulumi up --yes --non-interactive --stack "$stack" "$@" 2>&1 | tee "$log" || status=$?
  [ "$status" -eq 0 ] && exit 0
  if ! grep --quiet --fixed-strings -- "$conflict" "$log"; then exit "$status"; fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    error "stack ${stack} was busy with another update for ${wait_s} s. If no release or rollback is running, a release manager clears a stuck lock with: pulumi cancel --stack ${stack}"
    exit 1
  fi
  echo "stack ${stack} is busy with another update; trying again in ${retry_s} s"
  sleep "$retry_s"
done
