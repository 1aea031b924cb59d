#!/usr/bin/env bash
# Times `npm run plan` (the "what would vX publish?" answer) as a whole process, against a bare
# `node -e ''` start as the yardstick. Prints farm-bench's medians; no pass/fail threshold.
set -euo pipefail
cd "$(dirname "$0")/.."
farm-bench -n "${RUNS:-7}" --warmup 1 --timeout 300 --vs "node -e ''" -- \
  ./node_modules/.bin/tsx src/cli/plan.ts --stack prod --version 2.0.0-rc.1 --json
