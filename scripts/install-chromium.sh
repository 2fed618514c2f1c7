#!/usr/bin/env bash
# Install a headless-capable Chromium for the dashboard browser test. Needs root and apt-get.
set -euo pipefail
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
        echo "install-chromium.sh: found $(command -v "$b")"
        exit 0
    fi
done
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium.sh: need root and apt-get to install chromium" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# Debian names the package "chromium"; fonts make screenshots readable.
apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
echo "install-chromium.sh: installed $(chromium --version)"
