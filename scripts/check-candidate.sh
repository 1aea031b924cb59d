#!/usr/bin/env bash
# Re-checks, in the job that uses it, the candidate that another job named: the repository and digest passed
# between jobs as outputs must still have their shape, and (with --in-registry) the registry must serve that
# digest in that repository. Resolving repo@digest fetches the manifest by digest, and the client checks the bytes
# it gets against the digest it asked for, so an answer is the registry serving exactly those bytes.
#
#   scripts/check-candidate.sh REPOSITORY DIGEST [--in-registry]
set -euo pipefail

fail() {
  if [ "${GITHUB_ACTIONS:-}" = "true" ]; then echo "::error::$1"; fi
  echo "$1" >&2
  exit 1
}
if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then echo "usage: $0 REPOSITORY DIGEST [--in-registry]" >&2; exit 2; fi
repository="$1"
digest="$2"
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "the candidate digest is not sha256:<64 hex>: '${digest}'"
[[ "$repository" =~ ^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+$ ]] || fail "the candidate repository is not host/name: '${repository}'"
if [ "${3:-}" = "--in-registry" ]; then
  docker buildx imagetools inspect "${repository}@${digest}" >/dev/null ||
    fail "the registry does not serve ${repository}@${digest}"
elif [ -n "${3:-}" ]; then
  echo "usage: $0 REPOSITORY DIGEST [--in-registry]" >&2
  exit 2
fi
echo "candidate ${repository}@${digest}"
