#!/usr/bin/env bash
# Bring up a single-node Slurm cluster "idl-gpu" on this host for idlbot's tests and demos.
#
# Why a script and not systemd units: CI containers and the dev VMs have no running systemd,
# so every daemon is started directly, with its pid file under /run/slurm (munged: /run/munge)
# and its log under /var/log/slurm. The script is idempotent: a second run while the cluster
# is up only checks it (about 0.1 s); a run after down.sh restarts the daemons with kept state.
#
# Usage: sudo scripts/slurm/up.sh           (root is required: packages, munge, daemons)
# Environment (all optional):
#   IDLBOT_SLURM_MAILPROG   MailProg for slurmctld. Default: `idlbot-slurm-mail` on PATH, else the
#                           repo venv's .venv/bin/idlbot-slurm-mail, else /bin/true.
#   SLURM_CLUSTER_NAME      cluster name (default idl-gpu)
#   SLURM_FAKE_GPUS         number of fake GPUs on the node (default 2)
#   SLURM_MIN_JOB_AGE       seconds finished jobs stay in squeue/scontrol (default 30; sacct keeps them)
#   SLURMDB_PASS            password of the MariaDB user `slurm` (default: generated once, kept in
#                           /etc/slurm/slurmdbd.conf)
#   SLURMDB_NAME            accounting database (default slurm_acct_db)
#   SLURMDB_USER            MariaDB user of slurmdbd (default slurm). A second cluster sharing the
#                           MariaDB needs its own user: this script resets the user's password.
#   SLURM_PORT_BASE         ports: SlurmctldPort=base, SlurmdPort=base+1, DbdPort=base+2 (default:
#                           unset, i.e. Slurm's 6817-6819, and no port lines in the configs)
#   MYSQL_HOST/MYSQL_PORT   MariaDB for slurmdbd (default 127.0.0.1:3306, root with empty password)
#   SLURM_SKIP_INSTALL=1    do not call apt-get (packages must already be there)
#
# Tested with Slurm 22.05.8 (Debian 12) on this host, and with 24.11.5 (Debian 13) by up24.sh, which
# runs this script inside a trixie chroot; the places where the versions differ are marked "24.x:".
set -euo pipefail

CLUSTER=${SLURM_CLUSTER_NAME:-idl-gpu}
GPUS=${SLURM_FAKE_GPUS:-2}
MIN_JOB_AGE=${SLURM_MIN_JOB_AGE:-30}
CONF_DIR=/etc/slurm
RUN_DIR=/run/slurm
LOG_DIR=/var/log/slurm
STATE_DIR=/var/lib/slurm/slurmctld
SPOOL_DIR=/var/lib/slurm/slurmd
DEV_DIR=$RUN_DIR/dev
MYSQL_HOST=${MYSQL_HOST:-127.0.0.1}
MYSQL_PORT=${MYSQL_PORT:-3306}
DB_NAME=${SLURMDB_NAME:-slurm_acct_db}
DB_USER=${SLURMDB_USER:-slurm}
PORT_BASE=${SLURM_PORT_BASE:-}
case "$PORT_BASE" in ''|[0-9]*) ;; *) echo "slurm-up: ERROR: SLURM_PORT_BASE must be a number" >&2; exit 1 ;; esac
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SLURM_CONF=$CONF_DIR/slurm.conf
T0=$(date +%s.%N)

say() { echo "slurm-up: $*"; }
die() { echo "slurm-up: ERROR: $*" >&2; exit 1; }
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, writes /etc/slurm, starts daemons)"

# A pid file names a live process of the expected program (pids are reused, so check cmdline).
alive() { # alive PIDFILE PROGRAM
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$2"
}

# Start a self-daemonizing program with stdio on its log and every fd above 2 closed: daemons
# inherit open fds, and a caller that reads our stdout through a pipe (pytest's subprocess.run)
# would otherwise wait until the daemons exit.
spawn() { # spawn LOG CMD...
    local log=$1; shift
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
        done
        exec setsid "$@" </dev/null >>"$log" 2>&1
    ) || die "could not start $1 (see $log)"
}

wait_for() { # wait_for SECONDS WHAT CMD...
    local limit=$1 what=$2; shift 2
    local deadline=$(( $(date +%s) + limit ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

node_idle() { sinfo -h -N -o '%T' 2>/dev/null | grep -Eqx 'idle|mixed|allocated|reserved|maint|planned'; }

# MailProg: slurmctld execs it with argv "mail -s <subject> <user>" and an environment of SLURM_JOB_*
# variables only (no PATH), so it must be an absolute path to an executable.
MAILPROG=${IDLBOT_SLURM_MAILPROG:-}
if [ -z "$MAILPROG" ]; then
    MAILPROG=$(command -v idlbot-slurm-mail || true)
    [ -n "$MAILPROG" ] || { [ -x "$REPO/.venv/bin/idlbot-slurm-mail" ] && MAILPROG=$REPO/.venv/bin/idlbot-slurm-mail; } || true
    [ -n "$MAILPROG" ] || MAILPROG=/bin/true
fi
[ -x "$MAILPROG" ] || die "MailProg $MAILPROG is not executable"

# ---------------------------------------------------------------------------------------- fast path
# Only when the running config is the one asked for (MailProg, name, GPUs); otherwise regenerate.
if grep -qx "MailProg=$MAILPROG" $CONF_DIR/slurm.conf 2>/dev/null \
   && grep -qx "ClusterName=$CLUSTER" $CONF_DIR/slurm.conf && grep -q "Gres=gpu:$GPUS " $CONF_DIR/slurm.conf \
   && grep -qx "MinJobAge=$MIN_JOB_AGE" $CONF_DIR/slurm.conf \
   && alive $RUN_DIR/slurmctld.pid slurmctld && alive $RUN_DIR/slurmd.pid slurmd \
   && alive $RUN_DIR/slurmdbd.pid slurmdbd && node_idle && sacct -n -X -S now-1minutes >/dev/null 2>&1; then
    say "already up (cluster $CLUSTER, node $(hostname -s) $(sinfo -h -N -o %T)), checked in $(elapsed)"
    exit 0
fi

# ---------------------------------------------------------------------------------------- packages
PKGS="slurm-wlm slurmctld slurmd slurm-client slurmdbd munge"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    [ "${SLURM_SKIP_INSTALL:-0}" = 1 ] && die "packages missing:$missing (and SLURM_SKIP_INSTALL=1)"
    command -v apt-get >/dev/null || die "apt-get not found; install$missing by hand"
    say "installing$missing"
    # Keep package postinsts from starting services (they would try systemd and fail, or start
    # daemons with the packaged config); our own daemons are started below.
    added_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends $PKGS >/tmp/slurm-up-apt.log 2>&1 \
        || { apt-get update -q >>/tmp/slurm-up-apt.log 2>&1 \
             && apt-get install -y -q --no-install-recommends $PKGS >>/tmp/slurm-up-apt.log 2>&1; } \
        || { [ $added_policy = 1 ] && rm -f /usr/sbin/policy-rc.d; die "apt-get install failed, see /tmp/slurm-up-apt.log"; }
    [ $added_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
fi
VERSION=$(slurmd -V | awk '{print $2}')

mkdir -p $CONF_DIR $RUN_DIR $LOG_DIR $STATE_DIR $SPOOL_DIR $DEV_DIR /run/munge /var/log/munge /var/lib/munge

# ---------------------------------------------------------------------------------------- munge
if [ ! -s /etc/munge/munge.key ]; then
    # Debian's munge postinst normally creates the key; recreate it if someone deleted it.
    if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key
    else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
fi
chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key
if ! alive /run/munge/munged.pid munged; then
    rm -f /run/munge/munged.pid
    spawn /var/log/munge/munged.out runuser -u munge -- /usr/sbin/munged
fi
wait_for 10 munge sh -c 'munge -n | unmunge' || die "munged did not answer (see /var/log/munge/munged.log)"

# ---------------------------------------------------------------------------------------- MariaDB
mysql_root() { mysql --protocol=tcp -h "$MYSQL_HOST" -P "$MYSQL_PORT" -uroot "$@"; }
mysql_root -e 'SELECT 1' >/dev/null 2>&1 \
    || die "MariaDB not reachable at $MYSQL_HOST:$MYSQL_PORT as root without password (start it first)"
if [ -z "${SLURMDB_PASS:-}" ]; then
    SLURMDB_PASS=$(sed -n 's/^StoragePass=//p' $CONF_DIR/slurmdbd.conf 2>/dev/null || true)
    [ -n "$SLURMDB_PASS" ] || SLURMDB_PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
fi
# Both 'localhost' (socket) and '127.0.0.1' (TCP) accounts, because slurmdbd connects by TCP here.
mysql_root <<SQL || die "could not create the slurm database/user in MariaDB"
CREATE DATABASE IF NOT EXISTS $DB_NAME;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$SLURMDB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$SLURMDB_PASS';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$SLURMDB_PASS';
ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$SLURMDB_PASS';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'localhost';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'127.0.0.1';
SQL

# ---------------------------------------------------------------------------------------- configs

# Fake GPUs: gres/gpu needs files that are character devices ("not a valid character or block
# device" for plain files), and Count= without File= leaves the node INVAL in 22.05 ("count
# reported lower than configured (0 < 2)"). So: mknod c 195 N (the NVIDIA major), or, where
# CAP_MKNOD is missing (unprivileged containers), existing char devices /dev/null, /dev/zero, ...
gres_files=""
mknod_ok=1
for i in $(seq 0 $((GPUS - 1))); do
    f=$DEV_DIR/nvidia$i
    if [ ! -c "$f" ]; then rm -f "$f"; mknod "$f" c 195 "$i" 2>/dev/null || { mknod_ok=0; break; }; fi
done
if [ $mknod_ok = 1 ]; then
    gres_line="Name=gpu File=$DEV_DIR/nvidia[0-$((GPUS - 1))]"
else
    fallback=(/dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty)
    [ "$GPUS" -le ${#fallback[@]} ] || die "mknod not permitted and only ${#fallback[@]} fallback devices for $GPUS GPUs"
    gres_line=""
    for i in $(seq 0 $((GPUS - 1))); do gres_line="$gres_line"$'\n'"Name=gpu File=${fallback[$i]}"; done
fi

# CPU layout from slurmd -C; RealMemory at 95 % so a little drift does not mark the node INVAL.
CPU_LAYOUT=$(slurmd -C | head -1 | tr ' ' '\n' | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=' | tr '\n' ' ')
MEM=$(slurmd -C | head -1 | tr ' ' '\n' | sed -n 's/^RealMemory=//p'); MEM=$((MEM * 95 / 100))
NODE=$(hostname -s)

# Port lines only with SLURM_PORT_BASE, so the default configs stay as they always were.
conf_ports=""
dbd_ports=""
if [ -n "$PORT_BASE" ]; then
    conf_ports="SlurmctldPort=$PORT_BASE"$'\n'"SlurmdPort=$((PORT_BASE + 1))"$'\n'"AccountingStoragePort=$((PORT_BASE + 2))"$'\n'
    dbd_ports="DbdPort=$((PORT_BASE + 2))"$'\n'
fi

new_conf=$(mktemp)
cat >"$new_conf" <<EOF
# Generated by idlbot scripts/slurm/up.sh (Slurm $VERSION). Edits are overwritten.
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
${conf_ports}AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# 24.x: proctrack/linuxproc and task/none still exist; both avoid cgroups, which containers lack.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Scheduling passes every 2 s: submit-to-running goes from ~25 s to ~1 s.
SchedulerParameters=sched_interval=2,bf_interval=1
ReturnToService=2
MinJobAge=$MIN_JOB_AGE
KillWait=5
OverTimeLimit=0
InactiveLimit=0
MailProg=$MAILPROG
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
# gres/gpu in AllocTRES is how sacct reports a job's GPUs (needs slurmdbd; fatal without it).
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux
# A plain-text completion log, for people debugging; the bot reads sacct.
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.log
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 ${CPU_LAYOUT}RealMemory=$MEM Gres=gpu:$GPUS State=UNKNOWN
# MaxTime finite: with INFINITE, jobs started by backfill showed a limit of 365 days.
PartitionName=gpu Nodes=ALL Default=YES DefaultTime=01:00:00 MaxTime=1-00:00:00 State=UP
EOF
new_gres=$(mktemp)
printf 'AutoDetect=off\n%s\n' "$gres_line" | sed '/^$/d' >"$new_gres"

new_dbd=$(mktemp)
cat >"$new_dbd" <<EOF
# Generated by idlbot scripts/slurm/up.sh. Must be mode 600 and owned by SlurmUser.
AuthType=auth/munge
DbdHost=localhost
${dbd_ports}SlurmUser=root
PidFile=$RUN_DIR/slurmdbd.pid
LogFile=$LOG_DIR/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=$MYSQL_HOST
StoragePort=$MYSQL_PORT
StorageUser=$DB_USER
StoragePass=$SLURMDB_PASS
StorageLoc=$DB_NAME
EOF

changed=""
install_conf() { # install_conf NEW DEST MODE DAEMONS-TO-RESTART
    if ! cmp -s "$1" "$2"; then install -m "$3" "$1" "$2"; changed="$changed $4"; fi
    rm -f "$1"
}
install_conf "$new_conf" $CONF_DIR/slurm.conf 0644 "slurmd slurmctld"
install_conf "$new_gres" $CONF_DIR/gres.conf 0644 "slurmd slurmctld"
install_conf "$new_dbd" $CONF_DIR/slurmdbd.conf 0600 "slurmdbd"
# 24.x: slurmd initializes a cgroup plugin even with proctrack/linuxproc and task/none, and dies
# ("No filesystem mounted on /sys/fs/cgroup") where there is none; CgroupPlugin=disabled stops that.
# 22.05 gets no cgroup.conf, as before.
if [ "${VERSION%%.*}" -ge 24 ] 2>/dev/null; then
    new_cgroup=$(mktemp)
    printf '# Generated by idlbot scripts/slurm/up.sh. Edits are overwritten.\nCgroupPlugin=disabled\n' >"$new_cgroup"
    install_conf "$new_cgroup" $CONF_DIR/cgroup.conf 0644 "slurmd slurmctld"
fi
chown root:root $CONF_DIR/slurmdbd.conf

# A changed config needs a daemon restart (`scontrol reconfigure` does not pick up every key,
# e.g. a new epilog or GRES), so stop what runs; the start below uses the new files.
for d in slurmd slurmctld slurmdbd; do
    case " $changed " in *" $d "*) ;; *) continue ;; esac
    if alive $RUN_DIR/$d.pid $d; then
        say "config changed: restarting $d"
        pid=$(cat $RUN_DIR/$d.pid)
        kill "$pid"
        wait_for 20 "$d exit" sh -c "! kill -0 $pid" || die "$d (pid $pid) did not stop"
    fi
done

# ---------------------------------------------------------------------------------------- daemons
if ! alive $RUN_DIR/slurmdbd.pid slurmdbd; then
    rm -f $RUN_DIR/slurmdbd.pid
    spawn $LOG_DIR/slurmdbd.out /usr/sbin/slurmdbd
fi
wait_for 30 slurmdbd sacctmgr -n list cluster \
    || die "slurmdbd does not answer (see $LOG_DIR/slurmdbd.log)"

if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
    # slurmctld registers an unknown cluster itself since 17.x, but only after its first
    # connection; adding it first makes the first jobs' records land at once.
    sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster $CLUSTER failed"
fi

if ! alive $RUN_DIR/slurmctld.pid slurmctld; then
    rm -f $RUN_DIR/slurmctld.pid
    spawn $LOG_DIR/slurmctld.out /usr/sbin/slurmctld
fi
wait_for 30 slurmctld scontrol ping || die "slurmctld does not answer (see $LOG_DIR/slurmctld.log)"

if ! alive $RUN_DIR/slurmd.pid slurmd; then
    rm -f $RUN_DIR/slurmd.pid
    spawn $LOG_DIR/slurmd.out /usr/sbin/slurmd
fi

# A DRAIN/DOWN state saved in StateSaveLocation survives restarts: resume the node once it registered.
deadline=$(( $(date +%s) + 40 ))
until node_idle; do
    state=$(sinfo -h -N -o '%T' 2>/dev/null || true)
    case "$state" in
        *drain*|down*|*fail*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
        inval*) die "node $NODE is INVAL (config does not match the hardware); see $LOG_DIR/slurmctld.log" ;;
    esac
    [ "$(date +%s)" -lt "$deadline" ] || die "node $NODE did not become idle (state: ${state:-none}); see $LOG_DIR/slurmd.log"
    sleep 0.3
done
wait_for 20 sacct sacct -n -X -S now-1minutes || die "sacct does not answer"

say "cluster $CLUSTER up in $(elapsed): Slurm $VERSION, node $NODE $(sinfo -h -N -o %T), $GPUS fake GPUs, MailProg=$MAILPROG"
