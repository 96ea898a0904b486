#!/usr/bin/env bash
# Installs cofferd as a systemd service: a `coffer` system user, the two units with this checkout's
# paths filled in, and starts the socket. Run as root from a built checkout (npm ci && npm run build).
set -euo pipefail
prefix="$(cd "$(dirname "$0")/.." && pwd)"
node_bin="$(command -v node)"
unit_dir="${UNIT_DIR:-/etc/systemd/system}"

[ "$(id -u)" -eq 0 ] || { echo "install-systemd.sh: run as root (it creates a user and installs units)" >&2; exit 3; }
[ -f "$prefix/daemon/dist/main.js" ] || { echo "install-systemd.sh: build first: npm ci && npm run build" >&2; exit 3; }

if ! id coffer >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/coffer --no-create-home --shell /usr/sbin/nologin coffer
fi
install -m 0644 "$prefix/scripts/systemd/cofferd.socket" "$unit_dir/cofferd.socket"
sed -e "s#@NODE@#$node_bin#g" -e "s#@PREFIX@#$prefix#g" "$prefix/scripts/systemd/cofferd.service" > "$unit_dir/cofferd.service"
chmod 0644 "$unit_dir/cofferd.service"
systemd-analyze verify "$unit_dir/cofferd.socket" "$unit_dir/cofferd.service"
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now cofferd.socket
  echo "cofferd.socket is listening on /run/coffer/cofferd.sock; add clients to the coffer group."
else
  echo "units installed in $unit_dir (systemd is not running here, so nothing was started)"
fi
