#!/usr/bin/env bash
# Installs the servers the platform needs from Debian's archive when missing:
# redis-server (7.0), etcd (3.4, with etcdctl) and chromium (the console's browser tests).
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
# The console's browser tests (e2e) drive Debian's chromium.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# A CJK font, so the screenshots of those tests show the Chinese.
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing ${need[*]} (apt-get)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
# The Debian packages may start system daemons on the default ports; the
# platform runs its own on other ports, so leave them be.
