#!/usr/bin/env bash
# Check the release archive: `make dist` writes ldai_fdw-<version>.zip from
# the committed tree (git archive); it must hold the extension's files, and
# the extension must build from it alone (with PG_CONFIG's PostgreSQL).
# The check archives the working tree as it would be committed now
# (`git add -A` into a scratch index), so it also holds before a commit.
# Outside a git checkout (say, from the archive itself) only says so.
# Last line: "dist: ldai_fdw-<version>.zip, N files, builds".
set -euo pipefail
cd "$(dirname "$0")/.."
export PG_CONFIG=${PG_CONFIG:-pg_config}
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "dist: not a git checkout, no archive to check"; exit 0
fi
tmp=$(mktemp -d /tmp/ldai_dist.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp "$(git rev-parse --git-path index)" "$tmp/index" 2>/dev/null || true
GIT_INDEX_FILE="$tmp/index" git add -A . 2>/dev/null
tree=$(GIT_INDEX_FILE="$tmp/index" git write-tree)
zip=$(make -s dist DISTDIR="$tmp" DISTREF="$tree" | tail -1)
[ -f "$zip" ] || { echo "dist: make dist wrote no $zip"; exit 1; }
name=$(basename "$zip" .zip)
python3 - "$zip" "$name" "$tmp" <<'PY'
import re, sys, zipfile
zpath, name, out = sys.argv[1:]
z = zipfile.ZipFile(zpath)
names = set(z.namelist())
bad = [n for n in names if not n.startswith(name + "/")]
if bad:
    sys.exit(f"dist: entries outside {name}/: {bad[:5]}")
need = ["META.json", "LICENSE", "Makefile", "README.md", "ldai_fdw.control", "src/ldai_fdw.h"]
mk = z.read(f"{name}/Makefile").decode()
data = re.search(r"^DATA = (.*)$", mk, re.M).group(1).split()
objs = re.findall(r"src/\w+\.o", mk)
need += data + [o[:-2] + ".c" for o in objs]
missing = [n for n in need if f"{name}/{n}" not in names]
if missing:
    sys.exit(f"dist: missing from the archive: {missing}")
junk = [n for n in names if re.search(r"\.(o|so|bc|zip)$|/results/|/node_modules/", n)]
if junk:
    sys.exit(f"dist: build products in the archive: {junk[:5]}")
z.extractall(out)

PY
files=$(python3 -c 'import sys,zipfile; print(sum(1 for n in zipfile.ZipFile(sys.argv[1]).namelist() if not n.endswith("/")))' "$zip")
if ! make -s -C "$tmp/$name" >"$tmp/build.log" 2>&1; then
  tail -20 "$tmp/build.log"; echo "dist: $name.zip does not build"; exit 1
fi
echo "dist: $name.zip, $files files, builds"
