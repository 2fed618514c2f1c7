#!/usr/bin/env bash
# Install a single-node SLURM (slurmctld + slurmd) and munge from the Debian/Ubuntu archive.
# Needs root and apt-get. Safe to run twice. Start it afterwards with scripts/start-slurm.sh.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-slurm.sh: must run as root (apt-get)" >&2
    exit 2
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-slurm.sh: apt-get not found; install slurm-wlm and munge with your package manager" >&2
    exit 2
fi

if command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 \
        && command -v munged >/dev/null 2>&1 && command -v sbatch >/dev/null 2>&1; then
    echo "install-slurm.sh: SLURM and munge already installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# slurm-wlm pulls slurmctld, slurmd and the client tools; munge authenticates them.
apt-get install -y -q --no-install-recommends slurm-wlm munge
echo "install-slurm.sh: installed $(sbatch --version)"
