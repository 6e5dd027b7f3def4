# Shared by scripts/run, scripts/test and scripts/bench: installing what is
# missing and building. Sourced, never run.

DUBAN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# What building and serving need (nodejs: Swagger UI for /docs is copied
# from npm at build time), and what only the tests add to it.
DUBAN_PACKAGES=(build-essential cmake pkg-config libulfius-dev libjansson-dev libpq-dev
                liborcania-dev libmicrohttpd-dev zlib1g-dev libcurl4-gnutls-dev libgnutls28-dev postgresql tzdata nodejs curl)
DUBAN_TEST_PACKAGES=(check python3 docker-compose chromium clang libclang-rt-14-dev haproxy)
# What scripts/cluster adds: HAProxy in front of the instances.
DUBAN_CLUSTER_PACKAGES=(haproxy)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs, with apt-get, the Debian packages of $@ that are not installed.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Installs Debian's npm when node came without it (Debian packages them
# apart; other builds of nodejs bundle npm and would conflict with it).
ensure_npm() {
  command -v node >/dev/null 2>&1 || return 0
  command -v npm >/dev/null 2>&1 && return 0
  ensure_packages npm
}

# Configures and builds into $1 with the CMake arguments that follow.
build() {
  local dir=$1; shift
  say "building in ${dir#"$DUBAN_ROOT"/}"
  cmake -S "$DUBAN_ROOT" -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)" >/dev/null
}
