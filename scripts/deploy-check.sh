#!/usr/bin/env bash
# scripts/deploy-check.sh — proves deploy/README.md's build step ("1. Build") as written (run by
# `make test`; a fresh Debian 12 machine is not at hand, so this stands in for one):
#   1. installs the build packages deploy/README.md lists, only those missing (apt-get);
#   2. builds as the README says, `swift build -c release --static-swift-stdlib`, into its own
#      folder var/deploy-build (kept between runs: after the first, only what changed is built);
#      both executables are linked again on every run, with the linker listing what it reads;
#   3. fails when the build used a file that no listed package (or a package they depend on)
#      installs: every file the linker read, the linker itself, pkg-config and the -dev packages
#      Package.swift names;
#   4. fails unless `ldd` of luffy-pay and of alipay-sandbox lists exactly the runtime libraries
#      the README lists, each installed by the README's runtime packages (or what they depend on).
# Prints the build's duration; the binaries stay in var/deploy-build/release/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

README=deploy/README.md
SCRATCH=$ROOT/var/deploy-build
PRODUCTS=(luffy-pay alipay-sandbox)
SWIFT_BIN=$(dirname "$(readlink -f "$(command -v swift)")")
TOOLCHAIN=$(cd "$SWIFT_BIN/../.." && pwd)

# ---------------------------------------------------------------- what the README lists
# The README marks its lists with HTML comments (invisible when rendered):
#   <!-- deploy-check: build-packages -->     the next `apt-get install` line (with `\` lines)
#   <!-- deploy-check: runtime-packages -->   likewise
#   <!-- deploy-check: runtime-libraries -->  the next fenced block: one soname a line, `#` comments;
#                                             "(luffy-pay only)" in a line's comment: not alipay-sandbox's
apt_packages() {   # MARKER -> package names, one a line
    awk -v marker="<!-- deploy-check: $1 -->" '
        $0 == marker { found = 1; next }
        found && /apt-get install/ { line = $0; taking = 1 }
        found && taking && !/apt-get install/ { line = line " " $0 }
        found && taking { if (line ~ /\\$/) { sub(/\\$/, "", line); next } print line; exit }
    ' "$README" | sed 's/#.*//' | tr ' ' '\n' | grep -Ev '^(apt-get|install|-.*|)$' || true
}

listed_libraries() {   # PRODUCT -> its sonames, sorted
    awk -v marker="<!-- deploy-check: runtime-libraries -->" -v product="$1" '
        $0 == marker { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        inside && product != "luffy-pay" && /\(luffy-pay only\)/ { next }
        inside { sub(/#.*/, ""); gsub(/[ \t]/, ""); if ($0 != "") print }
    ' "$README" | sort -u
}

mapfile -t BUILD_PACKAGES < <(apt_packages build-packages)
mapfile -t RUNTIME_PACKAGES < <(apt_packages runtime-packages)
mapfile -t RUNTIME_LIBRARIES < <(listed_libraries luffy-pay)
[ ${#BUILD_PACKAGES[@]} -gt 0 ] || die "$README: no apt-get install line after <!-- deploy-check: build-packages -->"
[ ${#RUNTIME_PACKAGES[@]} -gt 0 ] || die "$README: no apt-get install line after <!-- deploy-check: runtime-packages -->"
[ ${#RUNTIME_LIBRARIES[@]} -gt 0 ] || die "$README: no library list after <!-- deploy-check: runtime-libraries -->"

# The listed packages and everything they depend on (Depends, Pre-Depends), as installed here.
# Membership is asked of a bash set, never by `printf … | grep -q`: under pipefail grep's early exit
# can kill printf with SIGPIPE and turn a package that is there into one that is not.
closure() {
    apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances "$@" 2>/dev/null |
        grep -v '^ ' | sed 's/:.*//; s/[<>]//g' | sort -u
}

# ---------------------------------------------------------------- 1. the build packages
missing=()
for pkg in "${BUILD_PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "deploy/README.md's build packages" "${missing[@]}"
fi

# ---------------------------------------------------------------- 2. the build
mkdir -p "$SCRATCH"
TRACE=$SCRATCH/link-trace.txt
BUILD_LOG=$SCRATCH/build.log
# Relinking is a few seconds; it gives the linker's list of inputs on every run (step 3).
for product in "${PRODUCTS[@]}"; do rm -f "$SCRATCH/release/$product"; done
step "swift build -c release --static-swift-stdlib (into ${SCRATCH#"$ROOT"/})"
started=$(date +%s)
if ! swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" \
        -Xlinker --trace >"$BUILD_LOG" 2>&1; then
    grep -v '^/' "$BUILD_LOG" | tail -n 40 >&2
    die "the static build failed (log: ${BUILD_LOG#"$ROOT"/})"
fi
say "static build: $(($(date +%s) - started)) s"
# --trace prints every file the linker opens, one absolute path a line
grep '^/' "$BUILD_LOG" | sed 's/(.*//' | sort -u >"$TRACE"
[ -s "$TRACE" ] || die "the linker listed no input files (${BUILD_LOG#"$ROOT"/})"

# ---------------------------------------------------------------- 3. only listed packages used
used_files=()
while IFS= read -r file; do
    case "$file" in
        "$TOOLCHAIN"/* | "$SCRATCH"/* | "$ROOT"/*) ;;   # the toolchain and this build's own files
        *) if [ -e "$file" ]; then used_files+=("$file"); fi ;;
    esac
done <"$TRACE"
# the linker clang runs, and pkg-config (Package.swift's system libraries are found with it)
used_files+=("$("$SWIFT_BIN/clang" -### -x c /dev/null -o /dev/null 2>&1 | awk -F'"' 'END { print $2 }')")
used_files+=("$(command -v pkg-config)")

# `package<TAB>file` for each FILE, `?` for a file no package installed. dpkg knows a file by the
# path its package shipped, which the merged /usr may show under another name (/lib -> usr/lib, a
# symlink to the real file): every such name is asked, all in one dpkg call.
names_of() {
    local path real
    for path in "$1" "$(readlink -f "$1")"; do
        real=${path#/usr}
        printf '%s\n' "$path" "$real" "/usr$real"
    done
}
owners() {
    local file name line pkg
    local -A by_path=()
    while IFS= read -r line; do   # `package[:arch][, package…]: /path`
        by_path[${line#*: }]=${line%%[:,]*}
    done < <(for file in "$@"; do names_of "$file"; done | sort -u | xargs dpkg -S 2>/dev/null | grep -v '^diversion')
    for file in "$@"; do
        pkg='?'
        while IFS= read -r name; do
            if [ -n "${by_path[$name]:-}" ]; then pkg=${by_path[$name]}; break; fi
        done < <(names_of "$file")
        printf '%s\t%s\n' "$pkg" "$file"
    done
}

declare -A needed=()
while IFS=$'\t' read -r pkg file; do
    [ "$pkg" != '?' ] || die "the build used $file, which no Debian package installs"
    needed[$pkg]=1
done < <(owners "${used_files[@]}")
# the -dev packages Package.swift names for its system libraries (providers: [.apt([…])])
while IFS= read -r pkg; do
    [ -n "$pkg" ] && needed[$pkg]=1
done < <(grep -o '\.apt(\[[^]]*\])' Package.swift | grep -o '"[^"]*"' | tr -d '"')

declare -A build_closure=()
while IFS= read -r pkg; do build_closure[$pkg]=1; done < <(closure "${BUILD_PACKAGES[@]}")
rc=0
for pkg in $(printf '%s\n' "${!needed[@]}" | sort); do
    if [ -z "${build_closure[$pkg]:-}" ]; then
        say "deploy-check: the build needs $pkg, which $README's build packages do not bring"
        rc=1
    fi
done

# ---------------------------------------------------------------- 4. ldd = the README's list
declare -A runtime_closure=()
while IFS= read -r pkg; do runtime_closure[$pkg]=1; done < <(closure "${RUNTIME_PACKAGES[@]}")
for product in "${PRODUCTS[@]}"; do
    binary=$SCRATCH/release/$product
    # `name => path (address)` or `path (address)`; the kernel's vDSO is no file of any package
    ldd_out=$(ldd "$binary")
    if grep -q 'not found' <<<"$ldd_out"; then
        say "$ldd_out"
        die "$product: a library it needs is not installed"
    fi
    mapfile -t actual < <(awk '$1 !~ /^linux-vdso/ { n = $1; sub(/.*\//, "", n); print n }' <<<"$ldd_out" | sort -u)
    mapfile -t listed < <(listed_libraries "$product")
    if [ "$(printf '%s\n' "${actual[@]}")" != "$(printf '%s\n' "${listed[@]}")" ]; then
        say "deploy-check: ldd $product differs from $README's runtime libraries (< ldd, > README):"
        diff <(printf '%s\n' "${actual[@]}") <(printf '%s\n' "${listed[@]}") >&2 || true
        rc=1
    else
        say "ldd $product: the ${#actual[@]} libraries listed"
    fi
    mapfile -t paths < <(awk '$1 !~ /^linux-vdso/ { for (i = 1; i <= NF; i++) if ($i ~ /^\//) { print $i; break } }' <<<"$ldd_out")
    while IFS=$'\t' read -r pkg path; do
        if [ -z "${runtime_closure[$pkg]:-}" ]; then
            say "deploy-check: $product loads $path (package: $pkg), which $README's runtime packages do not bring"
            rc=1
        fi
    done < <(owners "${paths[@]}")
done

# it runs without a Swift installation: the loader finds everything it needs in the system
"$SCRATCH/release/luffy-pay" version >/dev/null || { say "deploy-check: the static luffy-pay does not run"; rc=1; }

[ "$rc" -eq 0 ] || die "deploy-check: FAILED"
step "deploy-check: the static build needs only ${BUILD_PACKAGES[*]}; ldd of ${PRODUCTS[*]} as listed"
