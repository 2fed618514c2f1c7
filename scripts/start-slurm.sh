#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine (munged + slurmctld + slurmd).
#
# The node gets this machine's CPUs and memory (from `slurmd -C`) and one partition, `cpu`
# (default). There is no GPU partition: GPU submission is checked with `submit --pretend`.
# Needs root. Writes /etc/slurm/slurm.conf only if it is absent or was written by this script,
# so it never touches the configuration of a real cluster. Stop with scripts/stop-slurm.sh.
#
# Exit codes: 0 running; 2 cannot run here (not root / SLURM not installed / foreign config);
# 1 a daemon failed to start (see /var/log/slurm/*.log).
set -euo pipefail

MARKER="# written by cubemc scripts/start-slurm.sh"
CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
LOG_DIR=/var/log/slurm
SPOOL=/var/spool/slurm

die() { echo "start-slurm.sh: $2" >&2; exit "$1"; }

[ "$(id -u)" -eq 0 ] || die 2 "must run as root"
for exe in munged slurmctld slurmd sinfo; do
    command -v "$exe" >/dev/null 2>&1 || die 2 "'$exe' not found; run scripts/install-slurm.sh first"
done
if [ -e "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
    die 2 "$CONF exists and was not written by this script; refusing to touch a real cluster's configuration"
fi

mkdir -p "$CONF_DIR" "$LOG_DIR" "$SPOOL/ctld" "$SPOOL/d" /run/munge /var/log/munge /var/lib/munge

# --- munge -------------------------------------------------------------------------------
if ! getent passwd munge >/dev/null; then
    die 2 "no 'munge' user; reinstall the munge package"
fi
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 0700 /etc/munge
chmod 0400 /etc/munge/munge.key
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    # munged refuses to run as root; start it as the munge user.
    if command -v runuser >/dev/null 2>&1; then
        runuser -u munge -- /usr/sbin/munged
    else
        su -s /bin/sh munge -c /usr/sbin/munged
    fi
    for _ in $(seq 1 50); do
        munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    munge -n </dev/null | unmunge >/dev/null || die 1 "munged did not start (see /var/log/munge/munged.log)"
fi

# --- slurm.conf ----------------------------------------------------------------------------
HOST="$(hostname -s)"
# `slurmd -C` prints e.g. "NodeName=vm CPUs=2 Boards=1 ... RealMemory=24105"; keep the hardware
# fields and hold back 5% of the memory (at least 256 MB) for the operating system.
NODE_HW="$(slurmd -C | head -n1 | tr ' ' '\n' | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=' | tr '\n' ' ')"
REALMEM="$(slurmd -C | head -n1 | tr ' ' '\n' | sed -n 's/^RealMemory=//p')"
RESERVE=$(( REALMEM / 20 )); [ "$RESERVE" -lt 256 ] && RESERVE=256
MEM=$(( REALMEM - RESERVE )); [ "$MEM" -lt 256 ] && MEM="$REALMEM"

cat > "$CONF" <<CONF
$MARKER
ClusterName=cubemc-local
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# Containers rarely allow cgroup management: track processes by process group instead.
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=60
MinJobAge=300
KillWait=5
NodeName=$HOST NodeAddr=127.0.0.1 ${NODE_HW}RealMemory=$MEM State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP DefMemPerCPU=$(( MEM / $(nproc) ))
CONF
# No cgroup plugins are used, but some builds still look for the file.
[ -e "$CONF_DIR/cgroup.conf" ] || echo "$MARKER" > "$CONF_DIR/cgroup.conf"

# --- daemons -------------------------------------------------------------------------------
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if running /run/slurmctld.pid && running /run/slurmd.pid; then
    scontrol reconfigure >/dev/null 2>&1 || true
else
    running /run/slurmctld.pid || slurmctld || die 1 "slurmctld failed (see $LOG_DIR/slurmctld.log)"
    running /run/slurmd.pid || slurmd || die 1 "slurmd failed (see $LOG_DIR/slurmd.log)"
fi

# Wait for the node to become usable.
for _ in $(seq 1 60); do
    STATE="$(sinfo -h -n "$HOST" -o '%T' 2>/dev/null | head -n1 || true)"
    case "$STATE" in
        idle*|mixed*|allocated*|completing*) echo "start-slurm.sh: node $HOST is $STATE"; sinfo; exit 0 ;;
        down*|drain*) scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
done
die 1 "node $HOST did not become idle (state '${STATE:-unknown}'); see $LOG_DIR/slurmd.log and $LOG_DIR/slurmctld.log"
