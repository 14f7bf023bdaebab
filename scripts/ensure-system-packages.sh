#!/usr/bin/env bash
# Install the Debian packages named as arguments, but only those that are missing.
#   bash scripts/ensure-system-packages.sh postgresql
# Idempotent: a no-op (no apt-get at all) when every package is already installed;
# otherwise one `apt-get update`, then `apt-get install -y` of the missing ones.
# Needs root (or sudo) only when something is missing.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 PACKAGE..." >&2
    exit 2
fi

missing=()
for package in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "$0: missing ${missing[*]} and no apt-get here: install them by hand" >&2
    exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "$0: missing ${missing[*]}: run as root to install them" >&2
        exit 1
    fi
fi

echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
