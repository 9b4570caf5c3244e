#!/usr/bin/env bash
# Fuzz the PostgreSQL-free layers of ldai_fdw with libFuzzer (clang-14,
# ASan + UBSan + LSan):
#   fuzz_page     src/page.c  (JSON page -> items -> row fields)
#   fuzz_headers  src/http.c  (header_cb/header_value, ldh_retry_after_ms)
#
# Usage: scripts/fuzz.sh [seconds-per-target]     (default 30)
#
# Installs clang-14 and libclang-rt-14-dev with apt-get when clang-14 is
# missing (root, Debian 12), builds test/fuzz/, runs each target on a copy
# of its seed corpus in a temp dir (the committed corpus never grows), and
# exits 1 on any crash, leak, UB report or timeout.  Crashing inputs are
# kept in test/fuzz/crashers/ (git-ignored).  The last line is
#   fuzz: N targets, M crashes
set -euo pipefail

SECONDS_PER_TARGET="${1:-30}"
case "$SECONDS_PER_TARGET" in
	'' | *[!0-9]* | 0)
		echo "usage: $0 [seconds-per-target]  (a positive integer)" >&2
		exit 2
		;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/test/fuzz"
CC="${CC:-clang-14}"
TARGETS=(fuzz_page fuzz_headers)

# ---- toolchain --------------------------------------------------------------
need_pkgs=()
command -v clang-14 >/dev/null 2>&1 || need_pkgs+=(clang-14 libclang-rt-14-dev)
[ -e /usr/include/cjson/cJSON.h ] || need_pkgs+=(libcjson-dev)
[ -e /usr/include/x86_64-linux-gnu/curl/curl.h ] || [ -e /usr/include/curl/curl.h ] ||
	need_pkgs+=(libcurl4-openssl-dev)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
	echo "fuzz: installing ${need_pkgs[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "fuzz: need root to apt-get install ${need_pkgs[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# ---- build ------------------------------------------------------------------
make -s -C "$FUZZ" CC="$CC"

# ---- run --------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/ldai_fuzz.XXXXXX")"
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

crashes=0
for t in "${TARGETS[@]}"; do
	corpus_name="${t#fuzz_}"
	work="$TMP/$t"
	mkdir -p "$work/corpus" "$work/artifacts"
	cp "$FUZZ/corpus/$corpus_name/"* "$work/corpus/"
	dict=()
	[ -f "$FUZZ/$corpus_name.dict" ] && dict=(-dict="$FUZZ/$corpus_name.dict")

	echo "fuzz: $t for ${SECONDS_PER_TARGET}s ($(ls "$work/corpus" | wc -l) seeds)"
	rc=0
	# the outer timeout only guards against a wedged fuzzer
	( cd "$work" && timeout -k 10 "$((SECONDS_PER_TARGET + 120))" \
		"$FUZZ/build/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=5 \
		-rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" "${dict[@]}" "$work/corpus" ) \
		>"$work/log" 2>&1 || rc=$?

	found=$(find "$work/artifacts" -type f | wc -l)
	if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
		[ "$found" -gt 0 ] || found=1
		crashes=$((crashes + found))
		echo "fuzz: $t FAILED (exit $rc); the end of its log:"
		{ grep -v '^#[0-9]' "$work/log" || true; } | tail -n 60 | sed 's/^/    /'
		if [ -n "$(ls -A "$work/artifacts")" ]; then
			mkdir -p "$FUZZ/crashers"
			cp "$work/artifacts/"* "$FUZZ/crashers/"
			for f in "$work/artifacts/"*; do
				echo "fuzz: kept test/fuzz/crashers/$(basename "$f");" \
					"reproduce: test/fuzz/build/$t test/fuzz/crashers/$(basename "$f")"
			done
		fi
	fi
	# progress: the last status line, and libFuzzer's final stats
	last=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1 || true)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
	cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([^ ]*\).*/cov \1, ft \2, corpus \3/p' <<<"$last")
	echo "fuzz: $t: ${execs:-?} execs, ${rate:-?} exec/s, ${cov:-no coverage line}"
done

echo "fuzz: ${#TARGETS[@]} targets, $crashes crashes"
[ "$crashes" -eq 0 ]
