#!/usr/bin/env bash
# A one-node Slurm on this machine, to test the workflow's Slurm profile for real
# (make test-cluster). Everything it writes lives under one temporary folder.
#
# Usage: tools/local_slurm.sh install|up|status|env|down
#   install  apt-get install slurm-wlm and munge when slurmctld is missing (needs root)
#   up       start munged (as the munge user), slurmctld and slurmd; idempotent: a daemon
#            already running is kept, a missing one is started
#   status   say which daemons run and what sinfo reports; exit 1 unless all three run
#   env      print the `export SLURM_CONF=...` line that points clients at this cluster
#   down     cancel every job, stop the three daemons, remove the folder; idempotent
#
# Slurm's default config path, /etc/slurm/slurm.conf, becomes a symbolic link to this
# cluster's config while it is up: the executor plugin strips SLURM_* variables (SLURM_CONF
# too) from the srun it starts inside each job. A real config there is never touched: up
# refuses to start.
#
# Settings (environment): LOCAL_SLURM_DIR (default ${TMPDIR:-/tmp}/decoupled-rcnn-slurm),
# LOCAL_SLURM_PARTITION (the GPU jobs' partition; default local; the CPU-only jobs' is the
# same node's <partition>-cpu), LOCAL_SLURM_PORT (slurmctld's; slurmd uses the
# next one; default 6817), LOCAL_SLURM_GPUS (stand-in GPUs in the node's gres; default 2).
# No systemd is needed: the daemons are started directly.
set -euo pipefail

STATE=${LOCAL_SLURM_DIR:-${TMPDIR:-/tmp}/decoupled-rcnn-slurm}
PARTITION=${LOCAL_SLURM_PARTITION:-local}
PORT=${LOCAL_SLURM_PORT:-6817}
GPUS=${LOCAL_SLURM_GPUS:-2}
CONF=$STATE/slurm.conf
MUNGE_DIR=$STATE/munge
SOCKET=$MUNGE_DIR/munge.socket.2
NODE=$(hostname -s)
DEFAULT_CONF=/etc/slurm/slurm.conf
export SLURM_CONF=$CONF

say() { echo "local_slurm: $*" >&2; }
die() { say "$*"; exit 1; }

# alive PIDFILE: the pid in PIDFILE is a running process named like the file (slurmctld.pid:
# slurmctld), so a pid that a dead daemon left and the system reused does not count.
alive() {
    [[ -s $1 ]] || return 1
    local pid
    pid=$(cat "$1")
    kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$(basename "$1" .pid)" ]]
}

install() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
            && command -v munged >/dev/null && command -v sbatch >/dev/null; then
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || die "slurm-wlm and munge are missing and installing them needs root."
    command -v apt-get >/dev/null || die "slurm-wlm and munge are missing and there is no apt-get."
    say "installing slurm-wlm and munge (Debian's packages, about 3.5 MB)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install --no-install-recommends -y slurm-wlm munge >/dev/null 2>&1 || {
        apt-get update >/dev/null && apt-get install --no-install-recommends -y slurm-wlm munge; }
}

write_conf() {
    local cpus mem
    cpus=$(nproc)
    # 80 % of the memory, in MB: the jobs' --mem must fit below it.
    mem=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)
    mkdir -p "$STATE/ctld" "$STATE/spool"
    cat >"$CONF" <<EOF
# Written by tools/local_slurm.sh: one node, no accounting, no cgroups, $GPUS stand-in GPUs.
ClusterName=local
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
GresTypes=gpu
SelectTypeParameters=CR_CPU_Memory
MpiDefault=none
# Finished jobs stay visible to squeue/scontrol for an hour: without accounting that is
# how the executor plugin (--slurm-status-command squeue) sees a job end (it needs at least
# 3 x its first status-check delay), and how the test reads every job's record afterwards.
MinJobAge=3600
# A job submitted while the previous one is still completing starts at the next scheduling
# pass: every 2 s instead of Slurm's 60 (main loop) and 30 (backfill).
SchedulerParameters=sched_interval=2,bf_interval=2
ReturnToService=2
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:$GPUS State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=$PARTITION-cpu Nodes=ALL MaxTime=INFINITE State=UP
EOF
    # Stand-in GPUs: Slurm 22.05 drops a GPU without a device file ("Removing file-less GPU"),
    # so each is a link to a character device. Slurm schedules and counts them and sets
    # CUDA_VISIBLE_DEVICES in the job; torch sees no GPU behind them.
    mkdir -p "$STATE/dev"
    local i
    for ((i = 0; i < GPUS; i++)); do ln -sf /dev/null "$STATE/dev/gpu$i"; done
    printf 'AutoDetect=off\nNodeName=%s Name=gpu File=%s/dev/gpu[0-%d]\n' \
        "$NODE" "$STATE" $((GPUS - 1)) >"$STATE/gres.conf"
}

# link_conf: point Slurm's default config path at this cluster's config (see the top).
link_conf() {
    if [[ -L $DEFAULT_CONF ]]; then
        local target
        target=$(readlink "$DEFAULT_CONF")
        [[ $target == "$CONF" ]] && return 0
        alive "$(dirname "$target")/slurmctld.pid" && \
            die "$DEFAULT_CONF points at another local cluster that is running ($target)."
        # Left by a cluster that was never taken down (its run was killed): its daemons are gone.
        say "$DEFAULT_CONF pointed at a local cluster that no longer runs ($target); replacing it"
        rm -f "$DEFAULT_CONF"
    elif [[ -e $DEFAULT_CONF ]]; then
        die "$DEFAULT_CONF exists (a real Slurm config?); not starting a local cluster here."
    fi
    mkdir -p "$(dirname "$DEFAULT_CONF")"
    ln -s "$CONF" "$DEFAULT_CONF"
}

unlink_conf() {
    if [[ -L $DEFAULT_CONF && $(readlink "$DEFAULT_CONF") == "$CONF" ]]; then
        rm -f "$DEFAULT_CONF"
    fi
}

start_munge() {
    alive "$MUNGE_DIR/munged.pid" && return 0
    mkdir -p "$MUNGE_DIR"
    chown munge:munge "$MUNGE_DIR"
    chmod 0700 "$MUNGE_DIR"
    if [[ ! -s $MUNGE_DIR/munge.key ]]; then
        dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1024 count=1 status=none
        chown munge:munge "$MUNGE_DIR/munge.key"
        chmod 0400 "$MUNGE_DIR/munge.key"
    fi
    # munged refuses to run as root; its socket folder must be reachable by root's clients.
    chmod 0755 "$MUNGE_DIR"
    runuser -u munge -- munged --socket="$SOCKET" --key-file="$MUNGE_DIR/munge.key" \
        --pid-file="$MUNGE_DIR/munged.pid" --log-file="$MUNGE_DIR/munged.log" \
        --seed-file="$MUNGE_DIR/munged.seed" --force
    for _ in $(seq 50); do [[ -S $SOCKET ]] && return 0; sleep 0.1; done
    die "munged did not start (see $MUNGE_DIR/munged.log)"
}

up() {
    install
    mkdir -p "$STATE"
    chmod 0755 "$STATE"
    alive "$STATE/slurmctld.pid" || write_conf
    link_conf
    start_munge
    alive "$STATE/slurmctld.pid" || slurmctld -f "$CONF"
    alive "$STATE/slurmd.pid" || slurmd -f "$CONF" -N "$NODE"
    local state=""
    for _ in $(seq 100); do
        state=$(sinfo -h -N -o %T 2>/dev/null | head -1 || true)
        [[ $state == idle* || $state == mix* || $state == alloc* ]] && break
        sleep 0.3
    done
    [[ $state == idle* || $state == mix* || $state == alloc* ]] || \
        die "the node did not come up (state '${state}'; logs in $STATE)"
    say "up: partitions '$PARTITION' and '$PARTITION-cpu', node $NODE ($state); $(env_line)"
}

status() {
    local ok=0 name
    for name in munge/munged slurmctld slurmd; do
        if alive "$STATE/$name.pid"; then
            say "${name##*/} running (pid $(cat "$STATE/$name.pid"))"
        else
            say "${name##*/} not running"; ok=1
        fi
    done
    [[ $ok -eq 0 ]] && sinfo
    return $ok
}

env_line() { echo "export SLURM_CONF=$CONF"; }

# stop PIDFILE: SIGTERM the daemon, wait up to 10 s, then SIGKILL it.
stop() {
    alive "$1" || return 0
    local pid
    pid=$(cat "$1")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}

down() {
    if alive "$STATE/slurmctld.pid"; then
        squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null || true
        for _ in $(seq 60); do
            [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break
            sleep 0.5
        done
    fi
    stop "$STATE/slurmd.pid"
    stop "$STATE/slurmctld.pid"
    stop "$MUNGE_DIR/munged.pid"
    unlink_conf
    rm -rf "$STATE"
    say "down"
}

case ${1:-} in
    install) install ;;
    up) up ;;
    status) status ;;
    env) env_line ;;
    down) down ;;
    *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
