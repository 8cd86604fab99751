#!/bin/sh
# Installs a prebuilt pinbatch from a release: picks the archive for this machine, checks its
# SHA-256 checksum, and puts the binary in PREFIX/bin (default ~/.local/bin).
#
#   curl -LsSf https://github.com/pinbatch/pinbatch/releases/latest/download/install.sh | sh
#   sh install.sh --version 0.2.0 --prefix /usr/local
#
# Options (each also read from the environment variable named in brackets):
#   --version VERSION  the release to install, e.g. 0.2.0 (PINBATCH_VERSION; default: latest)
#   --prefix DIR       install into DIR/bin (PINBATCH_PREFIX; default: $HOME/.local)
#   --base-url URL     take the archives and checksums from this folder instead of GitHub: an
#                      http(s):// or file:// URL, or a local directory (PINBATCH_BASE_URL)
#   --target TRIPLE    the archive to take, instead of guessing it from uname (PINBATCH_TARGET)
#   --print-checksum   only print the SHA-256 of the archive that would be installed, and exit
#   -h, --help         this text
#
# Exit codes: 0 installed; 1 the download, the checksum or the install failed; 2 usage error.
# Nothing is written to PREFIX unless the checksum matches and the binary runs.

set -eu

REPOSITORY_URL="https://github.com/pinbatch/pinbatch"

say() {
    printf 'pinbatch-install: %s\n' "$*" >&2
}

die() {
    say "error: $*"
    exit 1
}

usage_error() {
    say "error: $*"
    say "run with --help for the options"
    exit 2
}

usage() {
    cat <<'USAGE'
Installs a prebuilt pinbatch: picks the archive for this machine, checks its SHA-256 checksum,
and puts the binary in PREFIX/bin.

usage: install.sh [--version VERSION] [--prefix DIR] [--base-url URL|DIR] [--target TRIPLE]

  --version VERSION  the release to install, e.g. 0.2.0 (PINBATCH_VERSION; default: latest)
  --prefix DIR       install into DIR/bin (PINBATCH_PREFIX; default: $HOME/.local)
  --base-url URL     take the archives and checksums from this folder instead of GitHub: an
                     http(s):// or file:// URL, or a local directory (PINBATCH_BASE_URL)
  --target TRIPLE    the archive to take, instead of guessing it from uname (PINBATCH_TARGET)
  --print-checksum   only print the SHA-256 of the archive that would be installed, and exit
  -h, --help         this text
USAGE
}

# The Rust target triple of the archive that runs here.
detect_target() {
    os=$(uname -s)
    machine=$(uname -m)
    case "$machine" in
        x86_64 | amd64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        *) die "no prebuilt pinbatch for the processor '$machine'; build it with cargo instead: cargo install --locked pinbatch" ;;
    esac
    case "$os" in
        Linux)
            # Static musl binaries run on every Linux distribution, whatever its C library.
            echo "$arch-unknown-linux-musl"
            ;;
        Darwin)
            # A shell under Rosetta reports x86_64 on Apple silicon; the native build is better.
            if [ "$arch" = x86_64 ] && [ "$(sysctl -n hw.optional.arm64 2>/dev/null || true)" = 1 ]; then
                arch=aarch64
            fi
            echo "$arch-apple-darwin"
            ;;
        MINGW* | MSYS* | CYGWIN* | Windows_NT)
            [ "$arch" = x86_64 ] || die "no prebuilt pinbatch for Windows on '$machine'; build it with cargo instead: cargo install --locked pinbatch"
            echo "x86_64-pc-windows-msvc"
            ;;
        *) die "no prebuilt pinbatch for the system '$os'; build it with cargo instead: cargo install --locked pinbatch" ;;
    esac
}

# fetch SOURCE DEST: copies SOURCE (a URL or a local path) to the file DEST.
fetch() {
    case "$1" in
        file://*) cp "${1#file://}" "$2" 2>/dev/null || return 1 ;;
        http://* | https://*)
            if command -v curl >/dev/null 2>&1; then
                case "$1" in
                    https://*) set -- "$1" "$2" --proto '=https' --tlsv1.2 ;;
                esac
                url=$1 dest=$2
                shift 2
                curl --fail --silent --show-error --location --retry 3 "$@" --output "$dest" "$url" ||
                    return 1
            elif command -v wget >/dev/null 2>&1; then
                wget --quiet --tries=3 --output-document="$2" "$1" || return 1
            else
                die "neither curl nor wget is installed; install one of them and run this again"
            fi
            ;;
        *) cp "$1" "$2" 2>/dev/null || return 1 ;;
    esac
}

# The SHA-256 of a file, as 64 lowercase hex digits.
sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d ' ' -f 1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d ' ' -f 1
    elif command -v openssl >/dev/null 2>&1; then
        openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
    else
        die "cannot check the download: none of sha256sum, shasum or openssl is installed"
    fi
}

version="${PINBATCH_VERSION:-latest}"
prefix="${PINBATCH_PREFIX:-}"
base_url="${PINBATCH_BASE_URL:-}"
target="${PINBATCH_TARGET:-}"
print_checksum=false

while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --print-checksum)
            print_checksum=true
            shift
            ;;
        --version | --prefix | --base-url | --target)
            [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 needs a value"
            case "$1" in
                --version) version=$2 ;;
                --prefix) prefix=$2 ;;
                --base-url) base_url=$2 ;;
                --target) target=$2 ;;
            esac
            shift 2
            ;;
        --version=* | --prefix=* | --base-url=* | --target=*)
            value=${1#*=}
            [ -n "$value" ] || usage_error "${1%%=*} needs a value"
            case "$1" in
                --version=*) version=$value ;;
                --prefix=*) prefix=$value ;;
                --base-url=*) base_url=$value ;;
                --target=*) target=$value ;;
            esac
            shift
            ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done

if [ -z "$prefix" ]; then
    [ -n "${HOME:-}" ] || usage_error "HOME is not set; give --prefix DIR"
    prefix="$HOME/.local"
fi
version=${version#v}
[ -n "$target" ] || target=$(detect_target)

case "$target" in
    *-windows-*)
        archive="pinbatch-$target.zip"
        exe="pinbatch.exe"
        ;;
    *)
        archive="pinbatch-$target.tar.gz"
        exe="pinbatch"
        ;;
esac

if [ -z "$base_url" ]; then
    if [ "$version" = latest ]; then
        base_url="$REPOSITORY_URL/releases/latest/download"
    else
        base_url="$REPOSITORY_URL/releases/download/v$version"
    fi
fi
base_url=${base_url%/}

work=$(mktemp -d 2>/dev/null || mktemp -d -t pinbatch-install)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# checked_sha256 FILE: the checksum in FILE (sha256sum's format), or an error.
checked_sha256() {
    sum=$(cut -d ' ' -f 1 <"$1" | tr 'A-F' 'a-f')
    case "$sum" in
        *[!0-9a-f]* | "") die "$archive.sha256 does not hold a SHA-256 checksum" ;;
    esac
    [ "${#sum}" -eq 64 ] || die "$archive.sha256 does not hold a SHA-256 checksum"
    echo "$sum"
}

fetch "$base_url/$archive.sha256" "$work/$archive.sha256" ||
    die "cannot download $base_url/$archive.sha256 (is there a pinbatch $version for $target?); nothing was installed"
expected=$(checked_sha256 "$work/$archive.sha256")
if [ "$print_checksum" = true ]; then
    echo "$expected"
    exit 0
fi

say "downloading $archive from $base_url"
fetch "$base_url/$archive" "$work/$archive" || die "cannot download $base_url/$archive"
actual=$(sha256_of "$work/$archive")
if [ "$expected" != "$actual" ]; then
    die "checksum mismatch for $archive: expected $expected, got $actual; nothing was installed"
fi

mkdir "$work/unpacked"
case "$archive" in
    *.zip)
        command -v unzip >/dev/null 2>&1 || die "unzip is needed to unpack $archive"
        unzip -q "$work/$archive" -d "$work/unpacked" || die "cannot unpack $archive"
        ;;
    *) tar -xzf "$work/$archive" -C "$work/unpacked" || die "cannot unpack $archive" ;;
esac
binary="$work/unpacked/pinbatch-$target/$exe"
[ -f "$binary" ] || die "$archive does not hold pinbatch-$target/$exe"
chmod 755 "$binary"
installed_version=$("$binary" --version 2>/dev/null) ||
    die "the downloaded pinbatch does not run on this machine (target $target); nothing was installed"

bin_dir="$prefix/bin"
mkdir -p "$bin_dir" || die "cannot create $bin_dir"
# Copy next to the destination, then rename: a running pinbatch is never left half-replaced.
cp "$binary" "$bin_dir/.$exe.tmp.$$" || die "cannot write to $bin_dir"
mv -f "$bin_dir/.$exe.tmp.$$" "$bin_dir/$exe" || {
    rm -f "$bin_dir/.$exe.tmp.$$"
    die "cannot install $bin_dir/$exe"
}

say "installed $installed_version to $bin_dir/$exe"
case ":${PATH:-}:" in
    *":$bin_dir:"*) ;;
    *) say "note: $bin_dir is not on PATH; add it, e.g. export PATH=\"$bin_dir:\$PATH\"" ;;
esac
