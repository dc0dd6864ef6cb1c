#!/usr/bin/env bash
# Stop the single-node cluster started by scripts/slurm/up.sh (slurmd, slurmctld, slurmdbd, munged).
#
# Daemons are stopped only through their own pid files, after checking /proc/PID/cmdline, so a
# reused pid or another engineer's process is never signalled. MariaDB is left alone: it is shared.
# Options:
#   --purge   also remove the Slurm controller state (job ids restart at 1) and the accounting
#             database slurm_acct_db. Configs in /etc/slurm stay; up.sh rewrites them anyway.
#   --keep-munge  leave munged running (other software on the host may use it)
set -euo pipefail

RUN_DIR=/run/slurm
PURGE=0
KEEP_MUNGE=0
for arg in "$@"; do
    case "$arg" in
        --purge) PURGE=1 ;;
        --keep-munge) KEEP_MUNGE=1 ;;
        *) echo "usage: $0 [--purge] [--keep-munge]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "slurm-down: ERROR: must run as root" >&2; exit 1; }
export SLURM_CONF=/etc/slurm/slurm.conf

pid_of() { # pid_of PIDFILE PROGRAM -> pid of a live process running PROGRAM, or nothing
    local pid
    [ -s "$1" ] || return 0
    pid=$(cat "$1" 2>/dev/null || true)
    if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$2"; then
        echo "$pid"
    fi
}

stopped=""
stop() { # stop PIDFILE PROGRAM
    local pid t=0
    pid=$(pid_of "$1" "$2")
    if [ -z "$pid" ]; then rm -f "$1"; return 0; fi
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        sleep 0.2; t=$((t + 1))
        if [ $t -ge 100 ]; then kill -KILL "$pid" 2>/dev/null || true; fi
        if [ $t -ge 110 ]; then echo "slurm-down: ERROR: $2 (pid $pid) does not exit" >&2; exit 1; fi
    done
    rm -f "$1"
    stopped="$stopped $2"
}

# Cancel jobs first, so they are recorded as CANCELLED instead of lingering as RUNNING in sacct.
if [ -n "$(pid_of $RUN_DIR/slurmctld.pid slurmctld)" ]; then
    scancel --full --quiet --state=RUNNING 2>/dev/null || true
    scancel --quiet --state=PENDING 2>/dev/null || true
fi
stop $RUN_DIR/slurmd.pid slurmd
stop $RUN_DIR/slurmctld.pid slurmctld
stop $RUN_DIR/slurmdbd.pid slurmdbd
[ $KEEP_MUNGE = 1 ] || stop /run/munge/munged.pid munged

if [ $PURGE = 1 ]; then
    rm -rf /var/lib/slurm/slurmctld /var/lib/slurm/slurmd
    mysql --protocol=tcp -h "${MYSQL_HOST:-127.0.0.1}" -P "${MYSQL_PORT:-3306}" -uroot \
        -e 'DROP DATABASE IF EXISTS slurm_acct_db' 2>/dev/null \
        || echo "slurm-down: warning: could not drop slurm_acct_db (MariaDB not reachable?)" >&2
    stopped="$stopped (state purged)"
fi
echo "slurm-down: stopped${stopped:- nothing (nothing was running)}"
