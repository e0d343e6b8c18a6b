#!/usr/bin/env bash
# A private one-node Slurm cluster for tests, on 127.0.0.1 and free high ports, whose whole state lives
# under DIR (nothing in /etc/slurm, /etc/munge or system services is touched; two DIRs never collide).
#   bash Tests/Tools/slurm-cluster.sh start DIR   starts munged, mariadbd, slurmdbd, slurmctld, slurmd (as root),
#                                                 waits until the node is idle, writes DIR/env, exits 0
#   bash Tests/Tools/slurm-cluster.sh stop DIR    stops them by PID (DIR/pids/*.pid) and any job left running
# Exit status: 0 ready (or stopped), 1 a daemon failed (its log tails on stderr), 2 usage, 3 a package is missing.
# Clients: `. DIR/env` (SLURM_CONF; munge and slurmdbd are reached through what slurm.conf names).
# Why each daemon: Debian 12's Slurm 22.05 has no file-based accounting any more, so sacct needs slurmdbd,
# and slurmdbd needs MySQL/MariaDB. Every daemon runs in the foreground (-D, munged -F), started in the
# background with its own session, its PID recorded by us.
set -euo pipefail

usage() { echo "usage: bash $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
mkdir -p "$2"
DIR=$(cd "$2" && pwd)
PIDS=$DIR/pids
HINT="apt-get install -y slurm-wlm slurm-client slurmdbd munge mariadb-server (or: bash scripts/install-deps.sh)"

die() {
    echo "slurm-cluster: $*" >&2
    for log in "$DIR"/log/*.log; do
        [ -s "$log" ] || continue
        echo "--- last lines of $log" >&2
        tail -n 25 "$log" >&2
    done
    [ "$action" != start ] || stop_all   # a failed start leaves nothing running
    exit 1
}

# PID of daemon NAME if it is still ours: alive, and its command line or environment names DIR
# (a recycled PID belongs to someone else and is left alone).
ours() {
    local f=$PIDS/$1.pid pid
    [ -f "$f" ] || return 1
    pid=$(cat "$f")
    [ -d "/proc/$pid" ] || return 1
    grep -aqF "$DIR/" "/proc/$pid/cmdline" "/proc/$pid/environ" 2>/dev/null || return 1
    echo "$pid"
}

stop_pid() {   # stop_pid PID...: SIGTERM to all, poll up to 15 s, then SIGKILL to those left
    local pid i left
    kill -TERM "$@" 2>/dev/null || :
    for ((i = 0; i < 300; i++)); do
        left=()
        for pid in "$@"; do [ ! -d "/proc/$pid" ] || left+=("$pid"); done
        [ ${#left[@]} -gt 0 ] || return 0
        sleep 0.05
    done
    kill -KILL "${left[@]}" 2>/dev/null || :
}

stop_all() {
    local pid name p group pids
    if [ -f "$DIR/etc/slurm.conf" ] && ours slurmctld >/dev/null; then
        # Jobs first, so no slurmstepd outlives the node daemon.
        SLURM_CONF=$DIR/etc/slurm.conf timeout 10 scancel --full --quiet --user="$(id -un)" 2>/dev/null || :
    fi
    # Each daemon takes about 2 s to stop: two groups in parallel, the Slurm daemons before what they use.
    for group in "slurmd slurmctld" "slurmdbd mariadbd munged"; do
        pids=()
        for name in $group; do
            if pid=$(ours "$name"); then pids+=("$pid"); fi
            rm -f "$PIDS/$name.pid"
        done
        [ ${#pids[@]} -eq 0 ] || stop_pid "${pids[@]}"
    done
    # Job steps (slurmstepd and the jobs under it) inherit SLURM_CONF=DIR/...: stop any that survived.
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [ "$pid" != $$ ] || continue
        grep -aqF "SLURM_CONF=$DIR/etc/slurm.conf" "$p/environ" 2>/dev/null && stop_pid "$pid"
    done
    return 0
}

if [ "$action" = stop ]; then stop_all; exit 0; fi
[ "$action" = start ] || usage
[ "$(id -u)" -eq 0 ] || { echo "slurm-cluster: must run as root (slurmd starts jobs as their users)" >&2; exit 1; }

need() {   # need NAME PACKAGE: the program's path, from PATH or the sbin directories
    local p
    p=$(PATH=$PATH:/usr/sbin:/sbin command -v "$1" 2>/dev/null) || { echo "slurm-cluster: '$1' is not installed (package $2): $HINT" >&2; exit 3; }
    echo "$p"
}
MUNGED=$(need munged munge); MUNGEKEY=$(need mungekey munge); MUNGE=$(need munge munge); UNMUNGE=$(need unmunge munge)
MARIADBD=$(need mariadbd mariadb-server); INSTALLDB=$(need mariadb-install-db mariadb-server); MARIADB=$(need mariadb mariadb-client)
SLURMDBD=$(need slurmdbd slurmdbd); SLURMCTLD=$(need slurmctld slurmctld); SLURMD=$(need slurmd slurmd)
for c in sinfo sacctmgr scontrol sbatch squeue sacct scancel; do need "$c" slurm-client >/dev/null; done
need python3 python3 >/dev/null

for name in munged mariadbd slurmdbd slurmctld slurmd; do
    ours "$name" >/dev/null && { echo "slurm-cluster: a cluster already runs in $DIR (stop it first)" >&2; exit 1; }
done
stop_all   # leftovers of a start that failed half-way
trap 'stop_all' ERR

mkdir -p "$PIDS" "$DIR/etc" "$DIR/log" "$DIR/munge" "$DIR/mysql" "$DIR/state" "$DIR/spool" "$DIR/tmp"
chmod 755 "$DIR/munge"   # the key inside is 0600; the socket must be reachable
: >"$DIR/log/start.log"

# Daemons are started in their own session with no terminal and no inherited pipe (the caller's
# reading of our stdout must end when we exit), PID recorded by us.
# Every inherited descriptor above 2 is closed first: a caller's pipe (a test runner reading our
# output) held open by a daemon would keep that reader waiting for ever.
launch() {   # launch NAME COMMAND...
    local name=$1; shift
    (
        for fd in /proc/$BASHPID/fd/*; do
            fd=${fd##*/}
            if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || :; fi
        done
        exec setsid "$@" </dev/null >>"$DIR/log/$name.log" 2>&1
    ) &
    echo $! >"$PIDS/$name.pid"
}

# Whether our child PID has exited (gone, or a zombie not yet waited for). Not `ours`: for a moment
# after launch the PID is still the subshell about to exec the daemon, whose arguments don't name DIR/.
exited() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || :
    [ -z "$state" ] || [ "$state" = Z ]
}

# Polls `CHECK...` every 0.1 s up to TIMEOUT seconds while daemon NAME lives.
wait_for() {   # wait_for WHAT NAME TIMEOUT CHECK...
    local what=$1 name=$2 timeout=$3 i pid st; shift 3
    pid=$(cat "$PIDS/$name.pid")
    for ((i = 0; i < timeout * 10; i++)); do
        "$@" >>"$DIR/log/start.log" 2>&1 && return 0
        if exited "$pid"; then
            st=0; wait "$pid" || st=$?
            die "$name exited (status $st) while waiting for $what"
        fi
        sleep 0.1
    done
    die "$what not ready within $timeout s"
}

# Four distinct free ports, held together while chosen so they differ.
read -r P_SLURMCTLD P_SLURMD P_SLURMDBD P_MYSQL < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(4):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
# The cluster's name must be unique per DIR (slurmdbd keys its tables by it); lowercase, short.
CLUSTER="i2t$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)"
SOCK=$DIR/munge/munge.socket

# --- munge: a key of our own, a socket of our own; --force because it runs as root.
[ -f "$DIR/munge/munge.key" ] || "$MUNGEKEY" --create --keyfile="$DIR/munge/munge.key" 2>>"$DIR/log/start.log" || die "mungekey failed"
chmod 600 "$DIR/munge/munge.key"
launch munged "$MUNGED" -F --force --key-file="$DIR/munge/munge.key" --socket="$SOCK" \
    --pid-file="$DIR/munge/munged.pid" --seed-file="$DIR/munge/munged.seed" --log-file="$DIR/log/munged-own.log"
munge_ok() { "$MUNGE" -n -S "$SOCK" | "$UNMUNGE" -S "$SOCK" >/dev/null; }
wait_for "munged" munged 20 munge_ok

# --- MariaDB for slurmdbd: private datadir, socket for our own admin, TCP on 127.0.0.1 for slurmdbd
# (its MySQL plugin passes no socket path, and libmariadb's defaults name the system's /run/mysqld).
if [ ! -d "$DIR/mysql/data/mysql" ]; then
    # Its own --tmpdir: two bootstraps at once in /tmp collide on temporary table names.
    "$INSTALLDB" --no-defaults --datadir="$DIR/mysql/data" --tmpdir="$DIR/tmp" --user=root --auth-root-authentication-method=socket \
        --skip-test-db >>"$DIR/log/mariadb-install.log" 2>&1 || die "mariadb-install-db failed"
fi
MYSOCK=$DIR/mysql/mysql.sock
launch mariadbd "$MARIADBD" --no-defaults --user=root --datadir="$DIR/mysql/data" --tmpdir="$DIR/tmp" --socket="$MYSOCK" \
    --pid-file="$DIR/mysql/mariadbd.pid" --bind-address=127.0.0.1 --port="$P_MYSQL" --skip-name-resolve \
    --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 --innodb-log-file-size=48M \
    --log-error="$DIR/log/mariadbd-own.log"
sql() { "$MARIADB" --no-defaults --socket="$MYSOCK" -u root -e "$1"; }
wait_for "mariadbd" mariadbd 60 sql "SELECT 1"
DBPASS=i2test
sql "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DBPASS'; GRANT ALL ON *.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;" \
    >>"$DIR/log/start.log" 2>&1 || die "cannot create the slurmdbd database user"

# --- configuration. AuthInfo/AccountingStoragePass name our munge socket (slurmdbd's connection
# authenticates through AccountingStoragePass, not AuthInfo). linuxproc + task/none: no cgroups needed.
read -r CPUS BOARDS SOCKETS CORES THREADS MEM < <("$SLURMD" -C | head -1 | sed -E 's/.*CPUs=([0-9]+) Boards=([0-9]+) SocketsPerBoard=([0-9]+) CoresPerSocket=([0-9]+) ThreadsPerCore=([0-9]+) RealMemory=([0-9]+).*/\1 \2 \3 \4 \5 \6/')
[ -n "${MEM:-}" ] || die "cannot read the machine's CPUs and memory from 'slurmd -C'"
cat >"$DIR/etc/slurm.conf" <<EOF
ClusterName=$CLUSTER
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$P_SLURMCTLD
SlurmdPort=$P_SLURMD
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/state/slurmctld.pid
SlurmdPidFile=$DIR/spool/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld-own.log
SlurmdLogFile=$DIR/log/slurmd-own.log
TmpFS=$DIR/tmp
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
KillWait=2
MinJobAge=60
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$P_SLURMDBD
AccountingStoragePass=$SOCK
JobCompType=jobcomp/none
AccountingStoreFlags=job_comment
NodeName=i2node NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$CPUS Boards=$BOARDS SocketsPerBoard=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=i2node Default=YES MaxTime=INFINITE State=UP
EOF
cat >"$DIR/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$SOCK
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$P_SLURMDBD
SlurmUser=root
PidFile=$DIR/state/slurmdbd.pid
LogFile=$DIR/log/slurmdbd-own.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$P_MYSQL
StorageUser=slurm
StoragePass=$DBPASS
StorageLoc=slurm_acct_db
EOF
chmod 600 "$DIR/etc/slurmdbd.conf"   # slurmdbd refuses a readable one (it holds the password)
export SLURM_CONF=$DIR/etc/slurm.conf   # daemons and clients read this, slurmdbd finds slurmdbd.conf next to it

# --- slurmdbd, then the cluster's record in it, then the controller and the node.
launch slurmdbd "$SLURMDBD" -D
wait_for "slurmdbd" slurmdbd 60 sacctmgr -n list cluster
if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >>"$DIR/log/start.log" 2>&1 || die "sacctmgr add cluster failed"
fi
launch slurmctld "$SLURMCTLD" -D -f "$SLURM_CONF"
wait_for "slurmctld" slurmctld 60 scontrol ping
mkdir -p "$DIR/spool/i2node"
launch slurmd "$SLURMD" -D -N i2node -f "$SLURM_CONF"
node_idle() { [ "$(sinfo -h -n i2node -o %T)" = idle ]; }
wait_for "the node i2node idle in sinfo" slurmd 60 node_idle

cat >"$DIR/env" <<EOF
export SLURM_CONF=$SLURM_CONF
export MUNGE_SOCKET=$SOCK
export I2_SLURM_CLUSTER=$CLUSTER
export I2_SLURM_PARTITION=debug
EOF
trap - ERR
echo "slurm-cluster: $CLUSTER ready in $DIR (slurmctld 127.0.0.1:$P_SLURMCTLD, slurmd :$P_SLURMD, slurmdbd :$P_SLURMDBD, mariadb :$P_MYSQL)" >&2
