#!/usr/bin/env bash
# A Debian root with another PostgreSQL major version, to build and test
# ldai_fdw on it: Debian 12 ships only PostgreSQL 15, Debian 13 "trixie"
# ships 17 and Debian unstable "sid" ships 18.  A root is a
# `debootstrap --variant=minbase` of that suite from the host's own Debian
# mirror, plus the server, its dev headers, libcurl and cJSON dev packages.
# Roots are cached under /var/cache/ldai_fdw/ and rebuilt when missing or
# incomplete (a marker file is written after a complete build).
#
# Usage (as root):
#   bash scripts/pgroot.sh ensure 17        build the root if needed
#   bash scripts/pgroot.sh run 17 CMD...    run CMD inside it, in a copy of
#                                           this source tree (/ldai_fdw/src
#                                           is the tree itself, bind-mounted)
#   bash scripts/pgroot.sh rebuild 17       throw the cached root away first
# Whatever is mounted inside a root is unmounted on exit, even on failure.
set -euo pipefail

CACHE=${LDAI_ROOT_CACHE:-/var/cache/ldai_fdw}
SRC=$(cd "$(dirname "$0")/.." && pwd)

usage() { echo "usage: $0 ensure|rebuild|run VERSION [CMD...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
[ "$(id -u)" -eq 0 ] || { echo "pgroot: must run as root (debootstrap, mount, chroot)" >&2; exit 1; }
action=$1; ver=$2; shift 2

case "$ver" in
  17) suite=trixie ;;
  18) suite=sid ;;
  *) echo "pgroot: no Debian suite known for PostgreSQL $ver" >&2; exit 2 ;;
esac
root="$CACHE/pg$ver-$suite"
marker="$root/.ldai_fdw_root_complete"
PKGS=(postgresql-"$ver" postgresql-server-dev-"$ver" libcurl4-openssl-dev libcjson-dev
      python3 make gcc libc6-dev openssl ca-certificates curl)

# the mirror the host's apt uses (first deb.debian.org-style URI for main Debian)
host_mirror() {
  local m
  m=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -1 | tr -d ' ')
  echo "${m:-http://deb.debian.org/debian}"
}

# unmount everything below the root, deepest first
unmount_all() {
  local m
  [ -d "$root" ] || return 0
  for m in $(awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

mount_all() {
  mkdir -p "$root/proc" "$root/dev" "$root/sys" "$root/ldai_fdw/src"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --make-rslave "$root/dev"
  mount -t sysfs sysfs "$root/sys" 2>/dev/null || mount --bind /sys "$root/sys"
  mount --bind "$SRC" "$root/ldai_fdw/src"
}

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

build_root() {
  local mirror tmp
  mirror=$(host_mirror)
  unmount_all
  if [ -d "$root" ]; then
    # never follow into something still mounted (checked above)
    rm -rf --one-file-system "$root"
  fi
  mkdir -p "$CACHE"
  if ! command -v debootstrap >/dev/null; then
    echo "pgroot: installing debootstrap" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >/dev/null \
      || { echo "pgroot: cannot install debootstrap" >&2; return 1; }
  fi
  tmp="$root"
  echo "pgroot: debootstrap $suite from $mirror into $tmp (a few minutes)" >&2
  debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >"$CACHE/pg$ver-debootstrap.log" 2>&1 \
    || { tail -30 "$CACHE/pg$ver-debootstrap.log" >&2; return 1; }
  # no services started by package scripts, no default cluster
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  mkdir -p "$root/etc/postgresql-common"
  echo "create_main_cluster = false" >"$root/etc/postgresql-common/createcluster.conf"
  # a mirror may serve an unstable suite whose Release is past its Valid-Until
  # by this machine's clock (the signatures are still checked)
  echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99ldai-valid-until"
  trap unmount_all EXIT
  trap 'exit 130' INT TERM
  mount_all
  in_root sh -c "export DEBIAN_FRONTEND=noninteractive;
    apt-get update -qq && apt-get install -y -qq --no-install-recommends ${PKGS[*]}" \
    >"$CACHE/pg$ver-apt.log" 2>&1 || { tail -30 "$CACHE/pg$ver-apt.log" >&2; return 1; }
  in_root apt-get clean
  unmount_all
  trap - EXIT
  check_root || return 1
  date -u +%FT%TZ >"$marker"
  echo "pgroot: PostgreSQL $ver root ready ($(du -sh --one-file-system "$root" | cut -f1))" >&2
}

# the root has the packages and the version asked for
check_root() {
  local p
  for p in "${PKGS[@]}"; do
    in_root dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || { echo "pgroot: $p missing in $root" >&2; return 1; }
  done
  in_root "/usr/lib/postgresql/$ver/bin/pg_config" --version | grep -q "PostgreSQL $ver\." \
    || { echo "pgroot: pg_config in $root is not PostgreSQL $ver" >&2; return 1; }
}

ensure_root() {
  if [ -f "$marker" ] && check_root 2>/dev/null; then return 0; fi
  build_root
}

case "$action" in
  ensure) ensure_root ;;
  rebuild) rm -f "$marker"; build_root ;;
  run)
    [ $# -ge 1 ] || usage
    ensure_root
    unmount_all   # left over from a run that was killed
    trap unmount_all EXIT
    trap 'exit 130' INT TERM
    mount_all
    # a private copy of the tree: builds and results of one version do not
    # touch the host's build or another version's
    in_root sh -c 'rm -rf /ldai_fdw/build && mkdir -p /ldai_fdw/build &&
      tar -C /ldai_fdw/src --exclude=./.git --exclude="*.o" --exclude="*.so" --exclude="*.bc" \
        --exclude=./results --exclude=./node_modules -cf - . | tar -C /ldai_fdw/build -xf -'
    set +e
    chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      PG_CONFIG="/usr/lib/postgresql/$ver/bin/pg_config" ${LDAI_REGRESS:+LDAI_REGRESS="$LDAI_REGRESS"} \
      sh -c 'cd /ldai_fdw/build && exec "$@"' sh "$@"
    rc=$?
    set -e
    exit $rc
    ;;
  *) usage ;;
esac
