# Stand-in FinSight backend (see Dockerfile.backend): answers on $PORT (5002) with a page saying what
# it is. GET / is the release workflow's smoke test; GET /status.json is the same as JSON.
set -eu
version=$(cat /app/VERSION)
variant=light
[ -s /app/ml/model.bin ] && variant=full
case "${SKIP_ML:-0}" in
  1 | true | yes) ml=disabled ;;
  *) if [ "$variant" = full ]; then ml=enabled; else ml="unavailable (light build)"; fi ;;
esac
www=$(mktemp -d)
printf '{"service":"finsight-backend","standIn":true,"version":"%s","variant":"%s","ml":"%s"}\n' \
  "$version" "$variant" "$ml" >"$www/status.json"
printf '<!doctype html><title>FinSight backend stand-in</title><p>FinSight backend stand-in %s (%s build, ML %s). Not the FinSight application.</p>\n' \
  "$version" "$variant" "$ml" >"$www/index.html"
echo "finsight-backend stand-in $version ($variant, ML $ml) on port ${PORT:-5002}"
exec httpd -f -v -p "${PORT:-5002}" -h "$www"
