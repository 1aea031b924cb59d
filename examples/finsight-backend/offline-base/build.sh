#!/bin/sh
# Builds the busybox base image of ./Dockerfile with no pull, tagged $1 (default finsight-offline-base),
# from a static busybox ($BUSYBOX, default: the busybox on PATH; Debian's busybox-static is static).
# Uses Docker's classic builder: FROM scratch needs no buildx.
set -eu
tag=${1:-finsight-offline-base}
busybox=${BUSYBOX:-$(command -v busybox)}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$busybox" "$dir/busybox"
cp "$(dirname "$0")/Dockerfile" "$dir/Dockerfile"
DOCKER_BUILDKIT=0 docker build --quiet --tag "$tag" "$dir" >/dev/null
echo "$tag"
