#!/usr/bin/env bash
# Stop the Slurm 24.11 cluster "idl-gpu24" started by scripts/slurm/up24.sh and unmount the chroot.
#
# Daemons are stopped only through the chroot's own pid files, after checking that the pid runs
# the expected program with the chroot as its root (/proc/PID/root), so the 22.05 cluster of up.sh
# on the same host is never signalled. The chroot itself and its state stay; up24.sh reuses them.
# Options:
#   --purge        also remove the controller state (job ids restart at 1) and drop the
#                  accounting database slurm_acct_db24
#   --keep-mounts  leave /proc, /sys, /dev, /tmp, ... mounted in the chroot
set -euo pipefail

ROOT=${IDLBOT_TRIXIE_ROOT:-/var/lib/idlbot/trixie}
DB_NAME=${SLURM24_DB_NAME:-slurm_acct_db24}
MAIL_DIR=/run/slurm/idlbot-test-mail
PURGE=0
KEEP_MOUNTS=0
for arg in "$@"; do
    case "$arg" in
        --purge) PURGE=1 ;;
        --keep-mounts) KEEP_MOUNTS=1 ;;
        *) echo "usage: $0 [--purge] [--keep-mounts]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "slurm-down24: ERROR: must run as root" >&2; exit 1; }
[ -d "$ROOT" ] || { echo "slurm-down24: no chroot at $ROOT, nothing to do"; exit 0; }
ROOT_REAL=$(readlink -f "$ROOT")

pid_of() { # pid_of PIDFILE PROGRAM -> pid of a live PROGRAM chrooted in ROOT, or nothing
    local pid
    [ -s "$1" ] || return 0
    pid=$(cat "$1" 2>/dev/null || true)
    if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$2" \
       && [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT_REAL" ]; then
        echo "$pid"
    fi
}

stopped=""
stop() { # stop PIDFILE PROGRAM (PIDFILE as seen inside the chroot)
    local pid t=0 file=$ROOT$1
    pid=$(pid_of "$file" "$2")
    if [ -z "$pid" ]; then rm -f "$file"; return 0; fi
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        sleep 0.2; t=$((t + 1))
        if [ $t -ge 100 ]; then kill -KILL "$pid" 2>/dev/null || true; fi
        if [ $t -ge 110 ]; then echo "slurm-down24: ERROR: $2 (pid $pid) does not exit" >&2; exit 1; fi
    done
    rm -f "$file"
    stopped="$stopped $2"
}

in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SLURM_CONF=/etc/slurm/slurm.conf "$@"; }

# Cancel jobs first, so they are recorded as CANCELLED instead of lingering as RUNNING in sacct.
if [ -n "$(pid_of "$ROOT/run/slurm/slurmctld.pid" slurmctld)" ]; then
    in_root scancel --full --quiet --state=RUNNING 2>/dev/null || true
    in_root scancel --quiet --state=PENDING 2>/dev/null || true
fi
stop /run/slurm/slurmd.pid slurmd
stop /run/slurm/slurmctld.pid slurmctld
stop /run/slurm/slurmdbd.pid slurmdbd
stop /run/munge/munged.pid munged

if [ $PURGE = 1 ]; then
    rm -rf "$ROOT/var/lib/slurm/slurmctld" "$ROOT/var/lib/slurm/slurmd"
    mysql --protocol=tcp -h "${MYSQL_HOST:-127.0.0.1}" -P "${MYSQL_PORT:-3306}" -uroot \
        -e "DROP DATABASE IF EXISTS $DB_NAME" 2>/dev/null \
        || echo "slurm-down24: warning: could not drop $DB_NAME (MariaDB not reachable?)" >&2
    stopped="$stopped (state purged)"
fi

if [ $KEEP_MOUNTS = 0 ]; then
    # Anything still running chrooted (a job step, a shell) would keep the mounts busy: say so
    # instead of unmounting lazily under it.
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT_REAL" ] || continue
        echo "slurm-down24: warning: pid ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" | cut -c1-60)) still runs in $ROOT; mounts kept" >&2
        KEEP_MOUNTS=1
    done
fi
if [ $KEEP_MOUNTS = 0 ]; then
    for m in "$MAIL_DIR" /tmp /dev/shm /dev/pts /dev /sys /proc; do
        if mountpoint -q "$ROOT$m"; then
            umount "$ROOT$m" || { echo "slurm-down24: ERROR: could not unmount $ROOT$m" >&2; exit 1; }
        fi
    done
    stopped="$stopped (unmounted)"
fi
echo "slurm-down24: stopped${stopped:- nothing (nothing was running)}"
