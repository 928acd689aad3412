#!/usr/bin/env bash
# install-chromium.sh installs Debian's chromium package (/usr/bin/chromium),
# which the browser tests of the web UI drive headless through the DevTools
# protocol (see internal/browsertest).
#
# When /usr/bin/chromium exists the script only prints its version. Otherwise
# it installs the pinned version CHROMIUM_VERSION (default below). If the
# archive no longer has that exact version, it warns and installs the current
# candidate instead: Debian's security archive keeps only the newest chromium.
# `apt-get update` runs only when the current package lists cannot provide the
# pinned version (it is not listed, or its download fails).
#
# Runs as root, or through sudo when not root. Non-interactive.
#
# Usage: scripts/install-chromium.sh
#        CHROMIUM_VERSION=<debian version> scripts/install-chromium.sh
set -euo pipefail

readonly DEFAULT_CHROMIUM_VERSION='156.0.8078.79-1~deb12u1'
readonly PIN="${CHROMIUM_VERSION:-$DEFAULT_CHROMIUM_VERSION}"
readonly BIN=/usr/bin/chromium

say() { printf 'install-chromium: %s\n' "$*"; }
warn() { printf 'install-chromium: WARNING: %s\n' "$*" >&2; }
die() {
	printf 'install-chromium: %s\n' "$*" >&2
	exit 1
}

# as_root runs its arguments as root: directly when the script is root, else
# through sudo (check_privileges has made sure that one of the two works).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

check_privileges() {
	if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
		die "not root and sudo is missing: run this script as root"
	fi
}

apt_get() {
	as_root env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

# versions prints the chromium versions that the current package lists offer,
# one per line.
versions() {
	apt-cache madison chromium 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }'
}

# candidate prints the version apt-get would install, or nothing.
candidate() {
	apt-cache policy chromium 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}

listed() {
	versions | grep -qxF -- "$1"
}

# install_version installs chromium and chromium-common at version $1 (the two
# must match; apt-get would otherwise pick the candidate for chromium-common).
# --no-install-recommends: headless chromium needs none of the recommended
# packages (upower, udev, mesa, notification-daemon, printer tools); fonts come
# with fontconfig, which chromium depends on.
install_version() {
	apt_get install -y --no-install-recommends "chromium=$1" "chromium-common=$1"
}

version_line() {
	"$BIN" --version 2>/dev/null || echo 'chromium (version unknown)'
}

main() {
	if [ -x "$BIN" ]; then
		say "already installed: $(version_line)"
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script needs Debian or a derivative"
	check_privileges

	local updated=0
	if ! listed "$PIN"; then
		say "chromium $PIN is not in the current package lists: running apt-get update"
		apt_get update
		updated=1
	fi

	if listed "$PIN"; then
		say "installing chromium $PIN"
		if install_version "$PIN"; then
			say "installed: $(version_line)"
			return 0
		fi
		if [ "$updated" -eq 1 ]; then
			die "installing chromium $PIN failed"
		fi
		# The lists can name a version that the archive has since dropped.
		say "installing chromium $PIN failed: running apt-get update and trying again"
		apt_get update
		updated=1
		if listed "$PIN" && install_version "$PIN"; then
			say "installed: $(version_line)"
			return 0
		fi
	fi

	local cand
	cand="$(candidate)"
	[ -n "$cand" ] || die "no chromium package is available from the configured apt sources"
	warn "chromium $PIN is not in the archive (any more); installing the candidate $cand instead"
	warn "update DEFAULT_CHROMIUM_VERSION in scripts/install-chromium.sh (or set CHROMIUM_VERSION) to pin it"
	install_version "$cand"
	say "installed: $(version_line)"
}

main "$@"
