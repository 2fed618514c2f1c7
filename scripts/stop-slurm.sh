#!/usr/bin/env bash
# Stop the single-node SLURM started by scripts/start-slurm.sh (slurmd, slurmctld; munged stays).
set -uo pipefail
for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
    if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        kill "$(cat "$pidfile")"
    fi
done
echo "stop-slurm.sh: stopped"
