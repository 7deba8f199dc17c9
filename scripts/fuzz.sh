#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] — build the libFuzzer targets in Fuzz/ and run each for SECONDS
# (default 300; `make fuzz FUZZ_SECONDS=…`). README "Fuzzing" says what each target asserts.
#   FUZZ_TARGETS="json jwt"  only these targets (default: every folder of Fuzz/ but Support)
#   FUZZ_JOBS=2              targets run side by side (default 1; the make test smoke uses 2)
#
# Build: the LuffyPay sources (and swift-log's and swift-metrics' modules they import) once into an
# instrumented static library (-sanitize=fuzzer,address,
# -enable-testing so targets reach internal API with @testable import), then each target against
# it; both cached in .build-fuzz/ and rebuilt only when their sources change.
# Run: the seeds of Fuzz/corpus/<target> (committed) plus the working corpus
# .build-fuzz/corpus/<target> (grown by each run, kept between runs). Prints one line per target
# with libFuzzer's final exec/s and coverage (cov: edges, ft: features). A crash, a property
# violation, a timeout or an out-of-memory fails the script and names the reproducer, which
# `.build-fuzz/bin/<target> <file>` replays.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

SECONDS_PER_TARGET=${1:-${FUZZ_SECONDS:-300}}
JOBS=${FUZZ_JOBS:-1}
[[ $SECONDS_PER_TARGET =~ ^[1-9][0-9]*$ ]] || die "seconds per target must be a positive integer, not '$SECONDS_PER_TARGET'"
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || die "FUZZ_JOBS must be a positive integer, not '$JOBS'"

OUT=$ROOT/.build-fuzz
# Longest input per target: a little above its largest seed (json: the 88 KB quadratic-keys seed).
declare -A MAX_LEN=([json]=131072 [urlform]=4096 [alipay-notify]=4096 [alipay-response]=8192 [alipay-bill]=8192
                    [jwt]=2048 [fastcgi]=4096 [pricing]=64)

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a TARGETS <<<"$FUZZ_TARGETS"
else
    TARGETS=()
    for dir in Fuzz/*/; do
        name=$(basename "$dir")
        [ "$name" = Support ] || [ "$name" = corpus ] || TARGETS+=("$name")
    done
fi
for target in "${TARGETS[@]}"; do
    [[ -d "Fuzz/$target" && -n "${MAX_LEN[$target]:-}" ]] || die "unknown fuzz target '$target'"
done

C_MODULES=(-I Sources/CFastCGI -I Sources/CMariaDB -I Sources/COpenSSL -I Sources/CZip -I Sources/CIconv)
PKG_FLAGS=()
for flag in $(pkg-config --cflags libmariadb openssl libzip); do PKG_FLAGS+=(-Xcc "$flag"); done
read -r -a PKG_LIBS <<<"$(pkg-config --libs libmariadb openssl libzip)"
SWIFT_FLAGS=(-parse-as-library -swift-version 6 -O -suppress-warnings "-sanitize=fuzzer,address")

# A digest of the files and flags a product is made of: unchanged digest, no rebuild.
digest() {
    { printf '%s\n' "${SWIFT_FLAGS[*]}" "$(swiftc --version 2>&1)" "$@"; cat "$@"; } | sha256sum | cut -c1-16
}

# The project's library modules, in dependency order (Package.swift), instrumented once and cached.
# First the package's dependencies that our modules import: swift-log's Logging and swift-metrics'
# CoreMetrics and Metrics, from the checkouts of `swift package resolve` (Package.resolved pins them).
LIB_MODULES=(Logging CoreMetrics Metrics LuffyCore FastCGI MariaDB Alipay LuffyPay)
# Linked dependents first, as a static link resolves symbols left to right.
LIB_ARCHIVES=()
for ((i = ${#LIB_MODULES[@]} - 1; i >= 0; i--)); do LIB_ARCHIVES+=("$OUT/lib/lib${LIB_MODULES[i]}.a"); done

module_dir() {
    case $1 in
        Logging) echo .build/checkouts/swift-log/Sources/Logging ;;
        CoreMetrics | Metrics) echo ".build/checkouts/swift-metrics/Sources/$1" ;;
        *) echo "Sources/$1" ;;
    esac
}

# Its package's name (for `package` declarations) and the upcoming features it is written for.
module_flags() {
    local feature features package=luffy_pay
    case $1 in
        Logging) package=swift_log; features=(ExistentialAny InternalImportsByDefault MemberImportVisibility) ;;
        CoreMetrics | Metrics) package=swift_metrics; features=(MemberImportVisibility) ;;
        *) features=(ExistentialAny InternalImportsByDefault MemberImportVisibility) ;;
    esac
    printf '%s\n' -package-name "$package"
    for feature in "${features[@]}"; do printf '%s\n' -enable-upcoming-feature "$feature"; done
}

build_library() {
    local sources stamp module flags
    if [ ! -d .build/checkouts/swift-log ] || [ ! -d .build/checkouts/swift-metrics ]; then swift package resolve; fi
    mapfile -t sources < <(for module in "${LIB_MODULES[@]}"; do find "$(module_dir "$module")" -name '*.swift' | sort; done)
    stamp=$(digest "${sources[@]}" Sources/C*/module.modulemap Sources/C*/shim.h)
    LIB_STAMP=$stamp
    [ -f "$OUT/lib/stamp" ] && [ "$(cat "$OUT/lib/stamp")" = "$stamp" ] && return 0
    step "fuzz: building the instrumented library modules (.build-fuzz/lib)"
    rm -rf "${OUT:?}/lib"
    mkdir -p "$OUT/lib"
    for module in "${LIB_MODULES[@]}"; do
        mapfile -t sources < <(find "$(module_dir "$module")" -name '*.swift' | sort)
        mapfile -t flags < <(module_flags "$module")
        swiftc -module-name "$module" "${SWIFT_FLAGS[@]}" -wmo -num-threads 2 -enable-testing "${flags[@]}" \
            -emit-module -emit-module-path "$OUT/lib/$module.swiftmodule" \
            -emit-library -static -o "$OUT/lib/lib$module.a" -I "$OUT/lib" \
            "${C_MODULES[@]}" "${PKG_FLAGS[@]}" "${sources[@]}"
    done
    echo "$stamp" >"$OUT/lib/stamp"
}

build_target() {
    local target=$1 module stamp log
    local sources=(Fuzz/Support/*.swift "Fuzz/$target"/*.swift)
    stamp=$LIB_STAMP-$(digest "${sources[@]}")
    [ -f "$OUT/bin/$target.stamp" ] && [ "$(cat "$OUT/bin/$target.stamp")" = "$stamp" ] && return 0
    module=$(tr -d '-' <<<"$target")Fuzz
    log=$OUT/logs/$target.build.log
    # ld.gold warns about every ASan symbol it cannot export (harmless): kept in the log.
    if ! swiftc -module-name "$module" "${SWIFT_FLAGS[@]}" -I "$OUT/lib" "${C_MODULES[@]}" "${PKG_FLAGS[@]}" \
        "${sources[@]}" "${LIB_ARCHIVES[@]}" "${PKG_LIBS[@]}" -o "$OUT/bin/$target" >"$log" 2>&1; then
        grep -v "Cannot export local symbol" "$log" >&2 || true
        say "fuzz: building $target failed (log: ${log#"$ROOT"/})"
        return 1
    fi
    echo "$stamp" >"$OUT/bin/$target.stamp"
}

# Runs one target; its summary line goes to logs/<target>.summary, its exit status to .status.
run_target() {
    local target=$1
    local log=$OUT/logs/$target.log work=$OUT/corpus/$target crashes=$OUT/crashes/$target
    mkdir -p "$work" "$crashes"
    local rc=0
    # No Swift backtracer (it would symbolicate for minutes under ASan); libFuzzer prints the stack.
    SWIFT_BACKTRACE=enable=no "$OUT/bin/$target" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -report_slow_units=2 -rss_limit_mb=2048 \
        -max_len="${MAX_LEN[$target]}" -print_final_stats=1 -artifact_prefix="$crashes/" \
        "$work" "Fuzz/corpus/$target" >"$log" 2>&1 || rc=$?
    # libFuzzer's last status line (`#N DONE cov: … ft: … corp: …`) and final stats.
    local execs speed cov ft corp
    read -r execs speed cov ft corp < <(awk '
        /^#[0-9]+[ \t]+(INITED|DONE)/ { for (i = 1; i < NF; i++) { if ($i == "cov:") c = $(i+1); if ($i == "ft:") f = $(i+1); if ($i == "corp:") { p = $(i+1); sub(/\/.*/, "", p) } } }
        /^stat::number_of_executed_units:/ { e = $2 }
        /^stat::average_exec_per_sec:/ { s = $2 }
        END { print (e == "" ? "?" : e), (s == "" ? "?" : s), (c == "" ? "?" : c), (f == "" ? "?" : f), (p == "" ? "?" : p) }' "$log")
    if [ "$rc" -eq 0 ]; then
        printf 'fuzz %-16s ok    %7s runs  %6s exec/s  cov %5s  ft %6s  corpus %s\n' \
            "$target" "$execs" "$speed" "$cov" "$ft" "$corp" >"$OUT/logs/$target.summary"
    else
        local artifact
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1 || true)
        {
            printf 'fuzz %-16s FAILED (exit %s) after %s runs:\n' "$target" "$rc" "$execs"
            grep -E 'Fatal error|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|^SUMMARY' "$log" | head -n 4 | sed 's/^/    /' || true
            # A trap in the library (a force unwrap, an overflow) has no message: name the function.
            local frame
            # shellcheck disable=SC2016  # \$s is the Swift mangling prefix, not a shell variable
            frame=$(grep -o -m 1 ' in \$s[0-9]*\(LuffyCore\|FastCGI\|MariaDB\|Alipay\|LuffyPay\)[^ ]*' "$log" | cut -c5- || true)
            [ -z "$frame" ] || printf '    in %s\n' "$(swift demangle --simplified "$frame" 2>/dev/null | sed 's/^.* ---> //')"
            printf '    reproduce: .build-fuzz/bin/%s %s\n' "$target" "${artifact#"$ROOT"/}"
            printf '    log: .build-fuzz/logs/%s.log\n' "$target"
        } >"$OUT/logs/$target.summary"
    fi
    echo "$rc" >"$OUT/logs/$target.status"
}

# in_parallel N FN ARGS…: FN for each argument, N at a time, in order; fails when one failed.
in_parallel() {
    local jobs=$1 fn=$2 failed=0 pids=() pid
    shift 2
    for item in "$@"; do
        if [ "${#pids[@]}" -ge "$jobs" ]; then
            wait "${pids[0]}" || failed=1
            pids=("${pids[@]:1}")
        fi
        "$fn" "$item" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    return "$failed"
}

command -v swiftc >/dev/null 2>&1 || die "swiftc not found (expected in /opt/swift/usr/bin)"
mkdir -p "$OUT/bin" "$OUT/logs"
build_library
in_parallel 2 build_target "${TARGETS[@]}" || die "fuzz: building a target failed"

step "fuzz: ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET} s each, $JOBS at a time"
for target in "${TARGETS[@]}"; do rm -f "$OUT/logs/$target.status" "$OUT/logs/$target.summary"; done
in_parallel "$JOBS" run_target "${TARGETS[@]}" || true

failed=0
for target in "${TARGETS[@]}"; do
    if [ -f "$OUT/logs/$target.status" ] && [ "$(cat "$OUT/logs/$target.status")" = 0 ]; then
        cat "$OUT/logs/$target.summary" >&2
    else
        cat "$OUT/logs/$target.summary" >&2 2>/dev/null || say "fuzz $target: no result (log: .build-fuzz/logs/$target.log)"
        failed=1
    fi
done
[ "$failed" -eq 0 ] || die "fuzz: a target failed (reproducers above)"
