#!/usr/bin/env bash
# Makes sure Debian's python3-socketio (with requests and websocket-client) is there for the test of the
# proof of concept's console client (test/e2e/python-client.test.ts, run with /usr/bin/python3). npm test
# runs this first. Debian's packages or nothing: never pip.
set -euo pipefail
packages=(python3-socketio python3-requests python3-websocket)
if /usr/bin/python3 -c 'import socketio, requests, websocket' 2>/dev/null; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "the Python client test needs ${packages[*]}: installing Debian's packages…" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  exit 0
fi
echo "the Python client test needs Debian's ${packages[*]}: run 'sudo apt-get install -y ${packages[*]}' once" >&2
exit 1
