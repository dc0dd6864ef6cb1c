#!/usr/bin/env bash
# Bring up a second, independent single-node Slurm 24.11 cluster "idl-gpu24" for idlbot's tests,
# inside a Debian 13 (trixie) chroot, next to the 22.05 cluster of up.sh (which is not touched).
#
# The chroot has its own munged (own key), its own /etc/slurm and /run, and runs scripts/slurm/up.sh
# itself with other ports (6917-6919 instead of 6817-6819) and its own accounting database in the
# host's MariaDB (the chroot shares the network, so 127.0.0.1:3306 is the host's server). Shared
# with the host: /proc, /sys, /dev, /tmp (job work dirs) and /run/slurm/idlbot-test-mail (MailProg config and spool).
#
# Host commands: /run/slurm24/bin/{sacct,squeue,sinfo,scontrol,sbatch,scancel,sacctmgr,srun}
# run the chroot's binaries (root only: they use chroot(2)); `. /run/slurm24/env.sh` puts them
# first on PATH and sets SLURM_CONF=/etc/slurm/slurm.conf, which names the chroot's file.
#
# Idempotent: a re-run while the cluster is up only checks it; after down24.sh it restarts the
# daemons with kept state. Usage: sudo scripts/slurm/up24.sh [--verify]  (--verify: run the job,
# GPU and reservation checks even when nothing had to be started)
# Environment (all optional):
#   IDLBOT_TRIXIE_ROOT        chroot directory (default /var/lib/idlbot/trixie)
#   IDLBOT_TRIXIE_MIRROR      Debian mirror (default http://deb.debian.org/debian)
#   IDLBOT_SLURM_MAILPROG_24  MailProg, a path inside the chroot (default /opt/idlbot/mailprog, a
#                             wrapper around idlbot/adapters/slurm/mailprog.py with the config
#                             IDLBOT_SLURM_MAIL_CONFIG_24, default /run/slurm/idlbot-test-mail/v24/slurm-mail.toml,
#                             its own so that the 22.05 cluster's tests can run at the same time)
#   SLURM24_CLUSTER_NAME      cluster name (default idl-gpu24)
#   SLURM24_PORT_BASE         first of the three ports (default 6917)
#   SLURM24_DB_NAME           accounting database (default slurm_acct_db24; MariaDB user slurm24)
#   SLURM_FAKE_GPUS, SLURM_MIN_JOB_AGE, MYSQL_HOST, MYSQL_PORT  passed on to up.sh
set -euo pipefail

ROOT=${IDLBOT_TRIXIE_ROOT:-/var/lib/idlbot/trixie}
MIRROR=${IDLBOT_TRIXIE_MIRROR:-http://deb.debian.org/debian}
CLUSTER=${SLURM24_CLUSTER_NAME:-idl-gpu24}
PORT_BASE=${SLURM24_PORT_BASE:-6917}
DB_NAME=${SLURM24_DB_NAME:-slurm_acct_db24}
MAILPROG=${IDLBOT_SLURM_MAILPROG_24:-/opt/idlbot/mailprog}
MAIL_DIR=/run/slurm/idlbot-test-mail
BIN_DIR=/run/slurm24/bin
TOOLS="sacct squeue sinfo scontrol sbatch scancel sacctmgr srun"
MARKER=$ROOT/.idlbot-trixie-ready
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VERIFY=0
for arg in "$@"; do
    case "$arg" in
        --verify) VERIFY=1 ;;
        *) echo "usage: $0 [--verify]" >&2; exit 2 ;;
    esac
done
T0=$(date +%s.%N)
say() { echo "slurm-up24: $*"; }
die() { echo "slurm-up24: ERROR: $*" >&2; exit 1; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

[ "$(id -u)" = 0 ] || die "must run as root (chroot, mounts, daemons)"
case "$ROOT" in /*/*) ;; *) die "IDLBOT_TRIXIE_ROOT must be an absolute path below / ($ROOT)" ;; esac

# ---------------------------------------------------------------------------------------- chroot
if [ ! -e "$MARKER" ]; then
    t=$(date +%s.%N)
    if ! command -v mmdebstrap >/dev/null; then
        say "installing mmdebstrap on the host"
        added_policy=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
        fi
        export DEBIAN_FRONTEND=noninteractive
        { apt-get install -y -q --no-install-recommends mmdebstrap >/tmp/slurm-up24-apt.log 2>&1 \
            || { apt-get update -q >>/tmp/slurm-up24-apt.log 2>&1 \
                 && apt-get install -y -q --no-install-recommends mmdebstrap >>/tmp/slurm-up24-apt.log 2>&1; }; } \
            || { [ $added_policy = 1 ] && rm -f /usr/sbin/policy-rc.d; die "apt-get install mmdebstrap failed, see /tmp/slurm-up24-apt.log"; }
        [ $added_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
    fi
    # A half-built tree from an interrupted run: mmdebstrap wants an empty directory. Never
    # remove it while something is mounted below it (that would be the host's /tmp or /dev).
    if [ -d "$ROOT" ] && [ -n "$(ls -A "$ROOT")" ]; then
        if findmnt -rn -o TARGET | grep -q "^$ROOT/"; then die "$ROOT is incomplete but has mounts; run down24.sh first"; fi
        say "removing the incomplete chroot $ROOT"
        rm -rf --one-file-system "$ROOT"
    fi
    mkdir -p "$ROOT"
    say "building the trixie chroot in $ROOT (log: /tmp/slurm-up24-mmdebstrap.log)"
    # The Slurm packages come in here already (one apt run); up.sh then finds them installed.
    # mariadb-client: up.sh creates the database and user with `mysql`.
    mmdebstrap --variant=minbase --mode=root \
        --include=bash,procps,iproute2,hostname,python3,ca-certificates,mariadb-client,munge,slurm-wlm,slurmctld,slurmd,slurm-client,slurmdbd \
        --aptopt='APT::Install-Recommends "false"' \
        trixie "$ROOT" "$MIRROR" >/tmp/slurm-up24-mmdebstrap.log 2>&1 \
        || die "mmdebstrap failed, see /tmp/slurm-up24-mmdebstrap.log"
    # MariaDB 11.x clients (trixie) want TLS by default; the host's 10.11 server has none.
    mkdir -p "$ROOT/etc/mysql/conf.d"
    printf '[client]\nskip-ssl\n' >"$ROOT/etc/mysql/conf.d/idlbot-no-tls.cnf"
    [ -x "$ROOT/usr/bin/mysql" ] || ln -s mariadb "$ROOT/usr/bin/mysql"
    touch "$MARKER"
    say "chroot built in $(since "$t")"
fi

# ---------------------------------------------------------------------------------------- mounts
mkdir -p "$MAIL_DIR"
mounted() { mountpoint -q "$ROOT$1"; }
bind() { # bind PATH: the host's PATH at the same place in the chroot
    mkdir -p "$ROOT$1"
    mounted "$1" || mount --bind "$1" "$ROOT$1" || die "could not bind $1 into $ROOT"
}
mkdir -p "$ROOT/proc" "$ROOT/sys"
mounted /proc || mount -t proc proc "$ROOT/proc" || die "could not mount /proc in $ROOT"
bind /sys          # slurmd -C (hwloc) reads the CPU layout from /sys
bind /dev
bind /dev/pts
bind /dev/shm
bind /tmp
bind "$MAIL_DIR"

# Name resolution and users as on the host: SlurmctldHost=localhost, the node is `hostname -s`,
# and jobs of host users (uid >= 1000) must resolve in the chroot's passwd/group too.
for f in /etc/hosts /etc/resolv.conf; do
    [ -f "$f" ] && ! cmp -s "$f" "$ROOT$f" && cp "$f" "$ROOT$f"
done
sync_ids() { # sync_ids FILE: append the host's entries with id 1000..59999 that the chroot lacks
    awk -F: '$3 >= 1000 && $3 < 60000' "$1" | while IFS= read -r line; do
        grep -q "^${line%%:*}:" "$ROOT$1" || echo "$line" >>"$ROOT$1"
    done
}
sync_ids /etc/group
sync_ids /etc/passwd

# ---------------------------------------------------------------------------------------- files
install_if_changed() { # install_if_changed SRC DEST MODE
    cmp -s "$1" "$2" || install -D -m "$3" "$1" "$2"
}
install_if_changed "$REPO/scripts/slurm/up.sh" "$ROOT/opt/idlbot/up.sh" 0755
install_if_changed "$REPO/idlbot/adapters/slurm/mailprog.py" "$ROOT/opt/idlbot/mailprog.py" 0644
tmp=$(mktemp)
# slurmctld runs MailProg with SLURM_JOB_* variables only, so the config path is written into it.
MAIL_CONFIG=${IDLBOT_SLURM_MAIL_CONFIG_24:-$MAIL_DIR/v24/slurm-mail.toml}
cat >"$tmp" <<EOF
#!/bin/sh
IDLBOT_SLURM_MAIL_CONFIG=$MAIL_CONFIG exec python3 /opt/idlbot/mailprog.py "\$@"
EOF
install_if_changed "$tmp" "$ROOT/opt/idlbot/mailprog" 0755
rm -f "$tmp"

mkdir -p "$BIN_DIR"
for tool in $TOOLS; do
    tmp=$(mktemp)
    # chroot(1) starts in the new root's /; keep the caller's directory when it exists in there
    # (everything under /tmp does), so sbatch without --chdir behaves as on the host.
    cat >"$tmp" <<EOF
#!/bin/sh
if [ -d "$ROOT\$PWD" ]; then exec chroot $ROOT /usr/bin/env -C "\$PWD" /usr/bin/$tool "\$@"; fi
exec chroot $ROOT /usr/bin/$tool "\$@"
EOF
    install_if_changed "$tmp" "$BIN_DIR/$tool" 0755
    rm -f "$tmp"
done
tmp=$(mktemp)
printf 'export PATH=%s:$PATH\nexport SLURM_CONF=/etc/slurm/slurm.conf\n' "$BIN_DIR" >"$tmp"
install_if_changed "$tmp" /run/slurm24/env.sh 0644
rm -f "$tmp"

# ---------------------------------------------------------------------------------------- cluster
t=$(date +%s.%N)
out=$(chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    SLURM_CLUSTER_NAME="$CLUSTER" SLURM_PORT_BASE="$PORT_BASE" SLURMDB_NAME="$DB_NAME" SLURMDB_USER=slurm24 \
    IDLBOT_SLURM_MAILPROG="$MAILPROG" SLURM_FAKE_GPUS="${SLURM_FAKE_GPUS:-2}" SLURM_MIN_JOB_AGE="${SLURM_MIN_JOB_AGE:-30}" \
    MYSQL_HOST="${MYSQL_HOST:-127.0.0.1}" MYSQL_PORT="${MYSQL_PORT:-3306}" \
    bash /opt/idlbot/up.sh) || { echo "$out"; die "up.sh failed inside $ROOT (logs: $ROOT/var/log/slurm)"; }
echo "$out" | sed 's/^slurm-up:/slurm-up24: (chroot)/'
case "$out" in *"already up"*) fast=1 ;; *) fast=0 ;; esac
if [ $fast = 1 ] && [ $VERIFY = 0 ]; then
    say "already up, checked in $(since "$T0")"
    exit 0
fi
say "up.sh in the chroot took $(since "$t")"

# ---------------------------------------------------------------------------------------- verify
t=$(date +%s.%N)
export SLURM_CONF=/etc/slurm/slurm.conf SLURM_TIME_FORMAT=%s TZ=UTC
s24() { "$BIN_DIR/$1" "${@:2}"; }
s24 scontrol --version | grep -Eq '^slurm(-wlm)? 24\.11' || die "scontrol in the chroot is not 24.11: $(s24 scontrol --version)"
s24 sinfo -h -N -o '%T' | grep -Eqx 'idle|mixed|allocated|reserved|maint|planned' || die "node not in service: $(s24 sinfo -h -N -o '%N|%T|%E')"
j1=$(s24 sbatch --parsable --chdir=/tmp --output=/dev/null --wrap 'exit 3') || die "sbatch failed"
j2=$(s24 sbatch --parsable --chdir=/tmp --output=/dev/null --gres=gpu:1 --wrap 'test -n "$CUDA_VISIBLE_DEVICES"') || die "sbatch --gres failed"
deadline=$(( $(date +%s) + 60 ))
while :; do
    rows=$(s24 sacct -X -a -P -n -o JobIDRaw,State,ExitCode,AllocTRES -j "$j1,$j2" 2>/dev/null || true)
    if echo "$rows" | grep -q "^$j1|FAILED|3:0|" && echo "$rows" | grep -q "^$j2|COMPLETED|0:0|.*gres/gpu=1"; then break; fi
    [ "$(date +%s)" -lt "$deadline" ] || die "jobs $j1/$j2 did not finish as expected: $rows"
    sleep 0.5
done
say "jobs done in $(since "$t"):"
echo "$rows" | sed 's/^/    /'
s24 scontrol create reservation ReservationName=idlbot_probe StartTime=now+1hour Duration=10 Nodes=ALL Users=root Flags=MAINT >/dev/null \
    || die "could not create a MAINT reservation"
s24 scontrol -o show reservation idlbot_probe | grep -q 'Flags=MAINT' || die "reservation not shown"
s24 scontrol delete ReservationName=idlbot_probe || die "could not delete the reservation"
# The 22.05 cluster next door must be unaffected.
host22=$(env -u SLURM_TIME_FORMAT scontrol --version 2>&1 || true)
node22=$(sinfo -h -N -o '%T' 2>&1 || true)
say "verified in $(since "$t"): $(s24 scontrol --version), node $(s24 sinfo -h -N -o '%N %T'), reservation ok; host: $host22, node $node22"
say "cluster $CLUSTER up in $(since "$T0") (. /run/slurm24/env.sh for the commands)"
