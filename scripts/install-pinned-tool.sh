#!/usr/bin/env bash
# Installs one tool listed in .github/pinned-tools.json (version, release URL, SHA-256 of the archive), and
# nothing else: the archive is checked against the pinned SHA-256 before anything in it is unpacked or run.
#
#   scripts/install-pinned-tool.sh NAME DEST_DIR
#
# Why not anchore/sbom-action and anchore/scan-action: both download install.sh from the main branch of
# anchore/syft and anchore/grype at run time and run it, so pinning the action by SHA does not pin what runs.
# Bumping a tool is a reviewed change to .github/pinned-tools.json: version, URL and the archive's SHA-256
# from that release's checksums file.
set -euo pipefail

usage() { echo "usage: $0 NAME DEST_DIR" >&2; exit 2; }
if [ "$#" -ne 2 ] || [ -z "$1" ] || [ -z "$2" ]; then usage; fi
name="$1"
dest="$2"
lock="${FINSIGHT_PINNED_TOOLS:-$(dirname "$0")/../.github/pinned-tools.json}"

field() { jq -er --arg name "$name" --arg key "$1" '.[$name][$key] | strings' "$lock"; }
if ! jq -e --arg name "$name" 'has($name)' "$lock" >/dev/null; then
  echo "$lock has no tool named ${name}; it lists: $(jq -r 'keys | join(", ")' "$lock")" >&2
  exit 2
fi
version="$(field version)"
url="$(field url)"
sha256="$(field sha256)"
member="$(field member)"
[[ "$sha256" =~ ^[0-9a-f]{64}$ ]] || { echo "${lock}: ${name}.sha256 must be 64 hex digits, got '${sha256}'" >&2; exit 2; }
[[ "$url" == https://* ]] || { echo "${lock}: ${name}.url must be https, got '${url}'" >&2; exit 2; }
[[ "$member" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "${lock}: ${name}.member must be a file name, got '${member}'" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
archive="${work}/archive.tar.gz"
curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --retry 3 --output "$archive" "$url"
actual="$(sha256sum "$archive" | cut -d' ' -f1)"
if [ "$actual" != "$sha256" ]; then
  [ "${GITHUB_ACTIONS:-}" = "true" ] && echo "::error::${name} ${version}: the archive's SHA-256 is ${actual}, the pin says ${sha256}"
  echo "${name} ${version}: ${url} has SHA-256 ${actual}, not the pinned ${sha256}; nothing was installed" >&2
  exit 1
fi
tar --extract --gzip --file "$archive" --directory "$work" --no-same-owner -- "$member"
mkdir -p "$dest"
install -m 0755 "${work}/${member}" "${dest}/${name}"
echo "${name} ${version} installed in ${dest} (archive SHA-256 ${actual})"
