#!/usr/bin/env bash
# Makes sure Debian's Chromium is there for the browser tests (npm test runs this first).
# Never downloads a browser from elsewhere: it is Debian's package or nothing.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser tests need Chromium: installing Debian's package (apt-get install chromium)…" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  exit 0
fi
echo "browser tests need Chromium at /usr/bin/chromium: run 'sudo apt-get install -y chromium' once" >&2
exit 1
