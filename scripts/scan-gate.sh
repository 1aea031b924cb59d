#!/usr/bin/env bash
# The release's vulnerability gate, over the JSON report Grype wrote for the candidate's SBOM:
#
#   FAIL_ON=high scripts/scan-gate.sh GRYPE_JSON_REPORT > summary.md
#
# Fails (exit 1) when any match has a fix available (fix.state "fixed") and a severity at or above FAIL_ON
# (negligible, low, medium, high or critical; the repository variable FINSIGHT_SCAN_FAIL_ON, default high).
# Prints a Markdown summary either way: counts by severity, the blocking matches, and what the reviewed
# ignore rules (.github/grype.yaml) set aside. A report that is not Grype's JSON shape fails (exit 2): a gate
# that cannot read its input must not pass.
#
# Why the decision is taken here and not by `grype --fail-on`: Grype's --only-fixed would drop unfixable
# matches from the report the reviewers read, and this script can be tested on a planted report.
set -euo pipefail

if [ "$#" -ne 1 ] || [ -z "$1" ]; then echo "usage: FAIL_ON=SEVERITY $0 GRYPE_JSON_REPORT" >&2; exit 2; fi
report="$1"
fail_on="$(printf '%s' "${FAIL_ON:-high}" | tr '[:upper:]' '[:lower:]')"
case "$fail_on" in
  negligible | low | medium | high | critical) ;;
  *)
    echo "FINSIGHT_SCAN_FAIL_ON must be negligible, low, medium, high or critical, got '${FAIL_ON:-}'" >&2
    exit 2
    ;;
esac

# Grype's JSON document (grype/presenter/models at v0.110.0): matches[].vulnerability.{id,severity,fix.state},
# matches[].artifact.{name,version,type}; ignoredMatches[] when ignore rules applied.
shape='type == "object" and (.matches | type == "array")
  and all(.matches[]; (.vulnerability.id | type == "string") and (.vulnerability.severity | type == "string")
    and (.vulnerability.fix.state | type == "string") and (.artifact.name | type == "string")
    and (.artifact.version | type == "string"))
  and ((.ignoredMatches // []) | type == "array")'
if ! jq -e "$shape" "$report" >/dev/null 2>&1; then
  echo "${report} is not a Grype JSON report (matches[] with vulnerability.id, severity, fix.state and artifact.name, version)" >&2
  exit 2
fi

# shellcheck disable=SC2016 # $rank and $threshold are jq variables
ranks='{"unknown": 0, "negligible": 1, "low": 2, "medium": 3, "high": 4, "critical": 5} as $rank'
blocking="$(jq -r --arg threshold "$fail_on" "${ranks}"'
  | [.matches[] | select(.vulnerability.fix.state == "fixed"
      and ($rank[.vulnerability.severity | ascii_downcase] // 0) >= $rank[$threshold])]
  | sort_by(-($rank[.vulnerability.severity | ascii_downcase] // 0), .vulnerability.id)
  | .[] | "| \(.vulnerability.severity) | \(.vulnerability.id) | \(.artifact.name) \(.artifact.version) | \(.vulnerability.fix.versions // [] | join(", ")) |"' "$report")"

echo "#### Vulnerability scan (Grype; fails on fixable ${fail_on} and above)"
echo
echo "| severity | fix available | no fix |"
echo "| --- | --- | --- |"
jq -r '.matches as $matches
  | ["Critical", "High", "Medium", "Low", "Negligible", "Unknown"][] as $severity
  | [$matches[] | select((.vulnerability.severity | ascii_downcase) == ($severity | ascii_downcase))]
  | "| \($severity) | \(map(select(.vulnerability.fix.state == "fixed")) | length) | \(map(select(.vulnerability.fix.state != "fixed")) | length) |"' "$report"
ignored="$(jq '(.ignoredMatches // []) | length' "$report")"
echo
echo "Set aside by the reviewed ignore rules in \`.github/grype.yaml\`: ${ignored}."
if [ -z "$blocking" ]; then
  echo
  echo "**Passed**: no fixable vulnerability at ${fail_on} or above."
  exit 0
fi
echo
echo "**Failed**: fixable vulnerabilities at ${fail_on} or above (rebuild on a patched base image or bump the package):"
echo
echo "| severity | vulnerability | package | fixed in |"
echo "| --- | --- | --- | --- |"
echo "$blocking"
if [ "${GITHUB_ACTIONS:-}" = "true" ]; then
  echo "::error::the vulnerability gate found $(printf '%s\n' "$blocking" | wc -l) fixable vulnerabilities at ${fail_on} or above" >&2
fi
exit 1
