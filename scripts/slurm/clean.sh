#!/usr/bin/env bash
# Empty both test clusters before a test run: cancel every job and delete every reservation.
#
# The clusters belong to the test suite. A run that was interrupted (Ctrl-C, a killed CI job)
# leaves its jobs running (a test's "long-training" job sleeps 15 minutes) and its maintenance
# windows in place, and the next run's cluster tests then time out waiting for a busy node.
# Waits (at most 60 s) until each node is idle again. Safe when a cluster is not up.
set -u
say() { echo "slurm-clean: $*"; }

clean() {  # $1: label, $2: directory of the Slurm commands ("" = PATH)
    local bin=$2 jobs reservations
    "${bin}scontrol" ping >/dev/null 2>&1 || { say "$1 not up, nothing to clean"; return 0; }
    jobs=$("${bin}squeue" -h -o %i 2>/dev/null | wc -l)
    "${bin}scancel" --full --quiet $("${bin}squeue" -h -o %i 2>/dev/null) 2>/dev/null || true
    reservations=$("${bin}scontrol" -o show reservation 2>/dev/null | grep -o 'ReservationName=[^ ]*' | cut -d= -f2)
    for r in $reservations; do "${bin}scontrol" delete reservation="$r" >/dev/null 2>&1 || true; done
    for _ in $(seq 60); do
        "${bin}squeue" -h -o %i 2>/dev/null | grep -q . || break
        sleep 1
    done
    say "$1: cancelled $jobs jobs, deleted $(echo "$reservations" | grep -c .) reservations"
}

clean "22.05" ""
[ -x /run/slurm24/bin/scontrol ] && SLURM_CONF=/etc/slurm/slurm.conf clean "24.11" /run/slurm24/bin/
exit 0
