#!/usr/bin/env bash
# Installs cofferd as a systemd service from a built checkout (npm ci && npm run build):
#   - copies the built daemon and its production node_modules to a prefix (default /opt/coffer), so the
#     service never runs from the checkout (ProtectHome= and PrivateTmp= hide /root, /home and /tmp);
#   - installs cofferd.socket and cofferd.service with the prefix and node filled in, and checks them
#     with `systemd-analyze verify`;
#   - creates the `coffer` system user and group, adds --add-user NAME to the group (clients' access),
#     and starts the socket when systemd runs.
# --uninstall stops and removes the units and the prefix; the data (/var/lib/coffer) and the user stay.
# DESTDIR=<root> installs into a staging root instead of / (packaging, tests): no account or systemctl
# change is made then, and what would be done is printed.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: install-systemd.sh [--prefix DIR] [--node PATH | --copy-node] [--add-user NAME]...
       install-systemd.sh --uninstall [--prefix DIR]
  --prefix DIR     where the daemon is copied (default /opt/coffer)
  --node PATH      the node binary the service runs (default: `command -v node`)
  --copy-node      copy that node binary into DIR/bin/node (when it lives under /root, /home or /tmp)
  --add-user NAME  add NAME to the coffer group, so it may connect to the socket (repeatable)
  --uninstall      stop and remove the units and DIR; keeps /var/lib/coffer and the coffer user
environment: DESTDIR (install under this root; no accounts, no systemctl), UNIT_DIR (default /etc/systemd/system)
USAGE
}

die() { echo "install-systemd.sh: $*" >&2; exit 3; }

checkout="$(cd "$(dirname "$0")/.." && pwd)"
prefix=/opt/coffer
node_bin=""
copy_node=0
uninstall=0
add_users=()
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix="$2"; shift 2 ;;
    --node) [ $# -ge 2 ] || die "--node needs a path"; node_bin="$2"; shift 2 ;;
    --copy-node) copy_node=1; shift ;;
    --add-user) [ $# -ge 2 ] || die "--add-user needs a user name"; add_users+=("$2"); shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
case "$prefix" in /?*) ;; *) die "--prefix must be an absolute path other than / (got $prefix)" ;; esac

destdir="${DESTDIR:-}"
unit_dir="${UNIT_DIR:-/etc/systemd/system}"
staged=0
[ -n "$destdir" ] && staged=1
live_systemd=0
[ "$staged" = 0 ] && [ -d /run/systemd/system ] && live_systemd=1

# Runs a command that changes the system (accounts, systemctl); with DESTDIR it is only printed.
system() {
  if [ "$staged" = 1 ]; then echo "would run: $*"; else "$@"; fi
}

[ "$staged" = 1 ] || [ "$(id -u)" -eq 0 ] || die "run as root (it creates a user and installs units), or set DESTDIR"

if [ "$uninstall" = 1 ]; then
  if [ "$live_systemd" = 1 ]; then
    systemctl disable --now cofferd.socket cofferd.service 2>/dev/null || true
  fi
  rm -f "$destdir$unit_dir/cofferd.socket" "$destdir$unit_dir/cofferd.service"
  if [ "$live_systemd" = 1 ]; then systemctl daemon-reload; fi
  rm -rf "$destdir$prefix"
  echo "removed the units and $prefix; the data in /var/lib/coffer and the coffer user are kept"
  echo "(remove them by hand if you mean to: userdel coffer; rm -r /var/lib/coffer)"
  exit 0
fi

[ -f "$checkout/daemon/dist/main.js" ] || die "build first: npm ci && npm run build"
for user in "${add_users[@]}"; do
  id "$user" >/dev/null 2>&1 || die "--add-user $user: no such user"
done

# The node binary: systemd's sandbox must see it. ProtectHome= hides /root, /home and /run/user;
# PrivateTmp= gives the service its own /tmp and /var/tmp (nvm, volta and pyenv-style installs live there).
[ -n "$node_bin" ] || node_bin="$(command -v node || true)"
[ -n "$node_bin" ] || die "no node on PATH: pass --node /path/to/node"
node_bin="$(readlink -f "$node_bin")"
[ -x "$node_bin" ] || die "$node_bin is not an executable node"
service_node="$node_bin"
if [ "$copy_node" = 1 ]; then
  service_node="$prefix/bin/node"
else
  case "$node_bin" in
    /root/*|/home/*|/run/user/*|/tmp/*|/var/tmp/*)
      die "$node_bin is hidden from the service (ProtectHome=yes, PrivateTmp=yes): install Node system-wide and pass --node, or add --copy-node to copy this one into $prefix/bin" ;;
  esac
fi

root="$destdir$prefix"
echo "installing cofferd $(node -p "require('$checkout/daemon/package.json').version") into $root"
rm -rf "$root.new"
mkdir -p "$root.new/daemon" "$root.new/node_modules/@coffer/protocol"
cp -R "$checkout/daemon/dist" "$checkout/daemon/package.json" "$root.new/daemon/"
cp -R "$checkout/protocol/dist" "$checkout/protocol/package.json" "$root.new/node_modules/@coffer/protocol/"
cp "$checkout/README.md" "$root.new/"
# The daemon's production dependencies, as npm resolved them in the checkout (no registry needed);
# the workspace links (@coffer/*) are replaced by the copies above.
# (npm ls exits non-zero for a mere extraneous package: the smoke test below is the real check.)
(cd "$checkout" && npm ls --omit=dev --all --parseable --workspace @coffer/daemon || true) |
  while IFS= read -r dir; do
    case "$dir" in
      "$checkout/node_modules/@coffer/"*|"$checkout"|"") continue ;;
      "$checkout/node_modules/"*) rel="${dir#"$checkout/"}" ;;
      *) continue ;;
    esac
    mkdir -p "$root.new/$(dirname "$rel")"
    cp -R "$dir" "$root.new/$rel"
  done
if [ "$copy_node" = 1 ]; then
  install -D -m 0755 "$node_bin" "$root.new/bin/node"
fi
chmod -R u=rwX,go=rX "$root.new"
# Smoke test: the copy alone (no checkout, empty environment, from /) loads every module it needs.
copied_node="$node_bin"
[ "$copy_node" = 1 ] && copied_node="$root.new/bin/node"
(cd / && env -i "$copied_node" "$root.new/daemon/dist/main.js" --version >/dev/null) ||
  die "the copied daemon does not start: is the checkout built (npm ci && npm run build)?"
rm -rf "$root"
mv "$root.new" "$root"

mkdir -p "$destdir$unit_dir"
sed -e "s#@PREFIX@#$prefix#g" "$checkout/scripts/systemd/cofferd.socket" > "$destdir$unit_dir/cofferd.socket"
sed -e "s#@NODE@#$service_node#g" -e "s#@PREFIX@#$prefix#g" "$checkout/scripts/systemd/cofferd.service" > "$destdir$unit_dir/cofferd.service"
chmod 0644 "$destdir$unit_dir/cofferd.service" "$destdir$unit_dir/cofferd.socket"
if [ "$staged" = 0 ]; then
  systemd-analyze verify "$unit_dir/cofferd.socket" "$unit_dir/cofferd.service"
fi

if ! id coffer >/dev/null 2>&1; then
  system useradd --system --user-group --home-dir /var/lib/coffer --no-create-home --shell /usr/sbin/nologin coffer
fi
for user in "${add_users[@]}"; do
  system usermod -aG coffer "$user"
  echo "$user may connect once it logs in again (new group membership)"
done

if [ "$live_systemd" = 1 ]; then
  systemctl daemon-reload
  systemctl enable --now cofferd.socket
  echo "cofferd.socket is listening on /run/coffer/cofferd.sock; clients in the coffer group may connect"
else
  echo "units installed in $destdir$unit_dir (systemd is not running here, so nothing was started)"
fi
