#!/usr/bin/env bash
# Static checks of docker/: no engine runs here, so the compose file is
# validated by docker-compose and the Dockerfile by the project's rules.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dockerfile=$root/docker/Dockerfile
fail() { echo "docker check: $*" >&2; exit 1; }

docker-compose -f "$root/docker/compose.yaml" config -q || fail "docker/compose.yaml is not valid"
docker-compose -f "$root/docker/compose.cluster.yaml" config -q || fail "docker/compose.cluster.yaml is not valid"
if command -v haproxy >/dev/null; then
  haproxy -c -q -f "$root/docker/haproxy.cfg" || fail "docker/haproxy.cfg is not valid"
fi

grep -E '^FROM ' "$dockerfile" | grep -vE '^FROM [^ :]+:[0-9][^ ]*( AS [a-z]+)?$' &&
  fail "every FROM needs a pinned version tag"
last_user=$(grep -E '^USER ' "$dockerfile" | tail -n 1 | awk '{print $2}')
[ -n "$last_user" ] || fail "the runtime stage must switch to a non-root USER"
[ "$last_user" != root ] && [ "$last_user" != 0 ] || fail "the runtime user must not be root"
grep -qE '^HEALTHCHECK ' "$dockerfile" || fail "a HEALTHCHECK is missing"
grep -qE '^ENTRYPOINT \[' "$dockerfile" || fail "ENTRYPOINT must use the exec form so SIGTERM reaches duban"
tail -n 1 "$root/docker/entrypoint.sh" | grep -q '^exec duban' || fail "the entrypoint must end by exec-ing duban"
for f in $(grep -E '^COPY [^-]' "$dockerfile" | awk '{for (i = 2; i < NF; i++) print $i}'); do
  [ -e "$root/$f" ] || fail "COPY source $f does not exist"
done
echo "docker files: ok"
