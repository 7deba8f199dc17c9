#!/usr/bin/env bash
# scripts/lint.sh [format] — `make lint` (and the first step of `make test`): the project's style checks.
#   Package.swift Sources Tests Fuzz   `swift format lint --strict` against .swift-format (the
#                                      toolchain's swift-format)
#   scripts/**/*.sh, .ci/run           ShellCheck at its default severity (style and up)
# Both always run, so one pass shows every finding; exits non-zero on any finding.
# `scripts/lint.sh format` (`make format`) rewrites the Swift files in place instead: it fixes
# the layout findings; the others (names, say) are fixed by hand.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

SWIFT_PATHS=(Package.swift Sources Tests Fuzz)

if [ "${1:-}" = format ]; then
    step "swift format format --in-place"
    exec swift format format --in-place --recursive --parallel "${SWIFT_PATHS[@]}"
fi
[ $# -eq 0 ] || die "usage: scripts/lint.sh [format]"

command -v shellcheck >/dev/null 2>&1 || "$ROOT/scripts/deps.sh"

rc=0
step "swift format lint"
swift format lint --strict --recursive --parallel "${SWIFT_PATHS[@]}" || rc=1

step "shellcheck"
shopt -s globstar nullglob
scripts=(scripts/**/*.sh)
# .ci/run is what CI runs: checked when it is a shell script.
if head -n 1 .ci/run 2>/dev/null | grep -Eq '^#!.*[/ ](ba)?sh$'; then
    scripts+=(.ci/run)
fi
shellcheck -x "${scripts[@]}" || rc=1

[ "$rc" -eq 0 ] || say "make lint: FAILED (\`make format\` fixes the Swift layout findings)"
exit "$rc"
