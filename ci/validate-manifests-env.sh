# Sourced by ci/validate-manifests.sh and ci/check-platform-audit.sh: makes
# sure the tools the manifest checks need are installed, offline-capable and
# cached, and sets $MANIFESTS_PY (the venv's python) and $PROMTOOL.
#
# Fresh Debian machine: installs python3 + venv with apt-get if missing, then
# creates a venv under the cache and pip-installs ci/requirements-manifests.txt;
# fetches Debian's `prometheus` package with `apt-get download` and unpacks only
# promtool from it (installing the package would start a Prometheus server).
# Warm machine: a stamp (hash of the requirements and the python version)
# skips all of it.

BACKSTOP_CI_CACHE=${BACKSTOP_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backstop-ci}
_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_req="$_root/ci/requirements-manifests.txt"
_venv="$BACKSTOP_CI_CACHE/manifests-venv"
mkdir -p "$BACKSTOP_CI_CACHE"

_apt_updated=
_apt() {
  if [ -z "$_apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    _apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v python3 >/dev/null 2>&1; then
  echo "validate-manifests: installing python3 (apt-get)" >&2
  _apt python3 python3-venv
fi

_stamp=$( { cat "$_req"; python3 -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
if [ ! -x "$_venv/bin/python" ] || [ "$(cat "$_venv/.stamp" 2>/dev/null)" != "$_stamp" ]; then
  echo "validate-manifests: creating $_venv" >&2
  rm -rf "$_venv"
  if ! python3 -m venv "$_venv" >/dev/null 2>&1; then
    _apt python3-venv
    rm -rf "$_venv"
    python3 -m venv "$_venv"
  fi
  "$_venv/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$_req"
  echo "$_stamp" > "$_venv/.stamp"
fi
MANIFESTS_PY="$_venv/bin/python"
export PATH="$_venv/bin:$PATH"

# promtool (PromQL syntax and alert unit tests) from Debian's prometheus package.
_promtool="$BACKSTOP_CI_CACHE/promtool/usr/bin/promtool"
if [ ! -x "$_promtool" ] && command -v apt-get >/dev/null 2>&1; then
  echo "validate-manifests: fetching promtool (apt-get download prometheus)" >&2
  _tmp=$(mktemp -d)
  if ( cd "$_tmp" && { apt-get download prometheus >/dev/null 2>&1 || \
        { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && apt-get download prometheus >/dev/null; }; } ); then
    rm -rf "$BACKSTOP_CI_CACHE/promtool"
    dpkg-deb -x "$_tmp"/prometheus_*.deb "$BACKSTOP_CI_CACHE/promtool"
  else
    echo "validate-manifests: could not fetch Debian's prometheus package; PromQL not checked" >&2
  fi
  rm -rf "$_tmp"
fi
if [ -x "$_promtool" ]; then
  export PROMTOOL="$_promtool"
fi
unset _root _req _venv _stamp _promtool _tmp
