#!/usr/bin/env bash
# A single-node Slurm on this machine, everything under one folder: the configuration, munge's
# key and socket, the daemons' state, spool, pid and log files. For trying srun without a
# cluster (docs/cluster.md) and for test/distributed/slurm.test.ts. Needs Debian's slurm-wlm and
# munge (scripts/install-system-deps.sh) and root (slurmd starts the job steps as their user).
#
#   scripts/slurm-local.sh start DIR     # munged, slurmctld, slurmd; waits until the node is idle
#   export SLURM_CONF=DIR/slurm.conf     # then: srun -n 2 --mpi=pmix ...
#   scripts/slurm-local.sh stop DIR      # ends the three daemons (SIGTERM, then SIGKILL)
#
# Environment: SLURM_CPUS (the CPUs the node claims, default 8: with config_overrides slurmd
# believes it, so a 2-core machine may run 8 ranks), SLURMCTLD_PORT and SLURMD_PORT (default
# 6817 and 6818), SLURM_START_TIMEOUT (seconds to wait for the node, default 30).
# `start` exits non-zero if a daemon does not come up, printing the tail of its log; it stops
# what it started before it does.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$2

# The pid files of the daemons, in the order they are stopped.
PIDFILES=(slurmd.pid slurmctld.pid munged.pid)

stop() {
  local pids=() f pid
  for f in "${PIDFILES[@]}"; do
    [ -f "$dir/$f" ] || continue
    pid=$(cat "$dir/$f" 2>/dev/null || true)
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  # Up to 10 s for them to end, then SIGKILL.
  for _ in $(seq 1 100); do
    local alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    pids=("${alive[@]}")
    [ ${#pids[@]} -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    echo "slurm-local: pid $pid did not end on SIGTERM; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -f "${PIDFILES[@]/#/$dir/}"
}

fail() {
  echo "slurm-local: $1" >&2
  local log
  for log in munged.log slurmctld.log slurmd.log; do
    if [ -s "$dir/$log" ]; then
      echo "--- tail of $dir/$log" >&2
      tail -n 15 "$dir/$log" >&2
    fi
  done
  stop
  exit 1
}

start() {
  local cmd
  for cmd in munged slurmctld slurmd sinfo srun; do
    command -v "$cmd" >/dev/null || { echo "slurm-local: $cmd not found: install slurm-wlm and munge (scripts/install-system-deps.sh)" >&2; exit 1; }
  done
  [ "$(id -u)" -eq 0 ] || { echo "slurm-local: needs root (slurmd runs job steps as their user)" >&2; exit 1; }
  mkdir -p "$dir"
  chmod 0711 "$dir"   # munged wants its socket's folder searchable by all
  dir=$(cd "$dir" && pwd)
  mkdir -p "$dir/state" "$dir/spool"
  local node cpus ctld_port d_port timeout
  node=$(hostname -s)
  cpus=${SLURM_CPUS:-8}
  ctld_port=${SLURMCTLD_PORT:-6817}
  d_port=${SLURMD_PORT:-6818}
  timeout=${SLURM_START_TIMEOUT:-30}

  # munge: a fresh key, its own socket, so the machine's /etc/munge and /run/munge are untouched.
  rm -f "$dir/munge.key"
  dd if=/dev/urandom of="$dir/munge.key" bs=1 count=1024 status=none
  chmod 0400 "$dir/munge.key"
  munged --force --key-file="$dir/munge.key" --socket="$dir/munge.socket" \
    --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" \
    || fail "munged did not start"

  cat >"$dir/slurm.conf" <<EOF
# Written by scripts/slurm-local.sh: a single-node Slurm for trying srun.
ClusterName=pfc-local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.socket
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups in a container: track processes by their parent, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmix
ReturnToService=2
MailProg=/bin/true
# Believe the node's CPUs below rather than the hardware: more ranks than cores.
SlurmdParameters=config_overrides
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
  export SLURM_CONF="$dir/slurm.conf"

  slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
  slurmd -f "$SLURM_CONF" -N "$node" || fail "slurmd did not start"

  local state="" i
  for i in $(seq 1 $((timeout * 5))); do
    state=$(sinfo -h -N -n "$node" -o '%T' 2>/dev/null || true)
    case "$state" in idle*) break ;; esac
    sleep 0.2
  done
  case "$state" in
    idle*) ;;
    *) fail "the node $node is not idle after ${timeout}s (state: '${state:-no answer}')" ;;
  esac
  echo "slurm-local: node $node idle with $cpus CPUs; export SLURM_CONF=$SLURM_CONF"
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
