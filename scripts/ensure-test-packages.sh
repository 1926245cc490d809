#!/usr/bin/env bash
# Makes sure the Debian packages the tests use are installed (npm test's pretest and .ci/run call
# this first): Chromium for the browser tests and the machine diagrams, openssl for the TLS tests'
# certificate, redis-server for the engine tests, haproxy for the several-nodes tests (they run
# deploy/haproxy.cfg), Debian's Python
# with python-socketio for the proof of concept's console client (test/e2e/python-client.test.ts,
# run with /usr/bin/python3; never pip). One line per need:
# "<command that succeeds when it is there>|<Debian packages to install otherwise>"; a new test
# dependency adds a line. Debian's packages or nothing: never a download from elsewhere.
set -euo pipefail
needed=(
  "test -x /usr/bin/chromium|chromium fonts-dejavu-core"
  "test -x /usr/bin/redis-server|redis-server"
  "test -x /usr/sbin/haproxy|haproxy"
  "command -v openssl|openssl"
  "/usr/bin/python3 -c 'import socketio, requests, websocket'|python3-socketio python3-requests python3-websocket"
)
missing=()
for entry in "${needed[@]}"; do
  proof="${entry%%|*}"
  read -r -a packages <<<"${entry#*|}"
  eval "$proof" >/dev/null 2>&1 || missing+=("${packages[@]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "tests need ${missing[*]}: installing Debian's packages (apt-get install)…" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's packages start a system redis-server and haproxy; the tests start their own on free ports.
  for service in redis-server haproxy; do
    if [[ " ${missing[*]} " == *" $service "* ]] && command -v systemctl >/dev/null 2>&1; then
      systemctl disable --now "$service" >/dev/null 2>&1 || true
    fi
  done
  exit 0
fi
echo "tests need Debian packages: run 'sudo apt-get install -y ${missing[*]}' once" >&2
exit 1
