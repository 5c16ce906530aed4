#!/bin/bash
# A real S3-compatible object store for tests and local trials: single-node Ceph (monitor +
# in-memory OSD + RADOS gateway) on 127.0.0.1, access key TESTKEY / secret TESTSECRET.
# It checks SigV4 signatures and supports multipart uploads, delimiter listings and presigned
# URLs, which the npm S3 fakes do not.
#
# Needs (Debian 12): apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd
#
# Usage:
#   scripts/ceph-s3.sh [start] [STATE_DIR] [PORT] [MON_PORT]
#       STATE_DIR default /tmp/ceph-s3 (wiped at start), PORT default 7480 (S3 endpoint),
#       MON_PORT default 6789. An instance still running from STATE_DIR is stopped first.
#   scripts/ceph-s3.sh stop STATE_DIR
#       radosgw first, then the OSD, then the monitor (each SIGTERM, SIGKILL after a grace).
#
# Gotchas: no ceph-mgr runs, so `ceph pg stat` hangs; keep osd_crush_update_on_start=false.
# The OSD keeps its data in memory (memstore), so nothing survives a stop.
set -euo pipefail

MODE=start
case "${1:-}" in
  start) shift ;;
  stop) MODE=stop; shift ;;
esac

# Absolute, because the start sequence cd's into it and the stop code runs from there too.
STATE_DIR=$(realpath -m "${1:-/tmp/ceph-s3}")
PORT=${2:-7480}
MON_PORT=${3:-6789}

log() { echo "ceph-s3: $*" >&2; }

# Pids of ceph daemons started from STATE_DIR: the pid files they wrote, plus any process
# whose working directory is STATE_DIR (this script cd's there before starting them), which
# still finds daemons whose pid files were lost when a previous state dir was wiped.
daemon_pids() {
  local name=$1 dir pid cwd
  dir=$(realpath -e "$STATE_DIR" 2>/dev/null) || dir=$STATE_DIR
  {
    [ -f "$STATE_DIR/run/$name.pid" ] && cat "$STATE_DIR/run/$name.pid"
    local exe
    case $name in
      client.rgw.*) exe=radosgw ;;
      osd.*) exe=ceph-osd ;;
      mon.*) exe=ceph-mon ;;
    esac
    for pid in $(pgrep -x "$exe" 2>/dev/null || true); do
      cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
      if [ "$cwd" = "$dir" ] || [ "$cwd" = "$dir (deleted)" ]; then echo "$pid"; fi
    done
  } | sort -u
}

# A zombie counts as gone: the daemons are reparented to PID 1, which may reap them late.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# stop_daemon NAME GRACE_TENTHS: SIGTERM, then SIGKILL after the grace period.
stop_daemon() {
  local name=$1 grace=$2 pids pid i
  pids=$(daemon_pids "$name")
  [ -n "$pids" ] || return 0
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < grace; i++)); do
    local any=0
    for pid in $pids; do alive "$pid" && any=1; done
    [ "$any" = 0 ] && return 0
    sleep 0.1
  done
  for pid in $pids; do
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for ((i = 0; i < 50; i++)); do
    local any=0
    for pid in $pids; do alive "$pid" && any=1; done
    [ "$any" = 0 ] && return 0
    sleep 0.1
  done
  log "$name did not exit after SIGKILL: $pids"
  return 1
}

stop_all() {
  # radosgw first (it holds RADOS sessions), then the OSD while the monitor can still
  # acknowledge its shutdown (otherwise it waits ~5 s for the monitor), then the monitor.
  # radosgw keeps no state of its own and its background threads take 3 s or more to wind
  # down after SIGTERM; the data lives in memstore and is wiped at the next start anyway,
  # so it only gets a short grace.
  stop_daemon client.rgw.a 5
  stop_daemon osd.0 30
  stop_daemon mon.a 30
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_ok() {
  if command -v curl >/dev/null; then
    curl -sf -m 2 "http://127.0.0.1:$PORT/" >/dev/null
  else
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && printf 'GET / HTTP/1.0\r\n\r\n' >&3 \
      && head -1 <&3 | grep -q ' 200 '" 2>/dev/null
  fi
}

if [ "$MODE" = stop ]; then
  stop_all
  exit 0
fi

for tool in monmaptool ceph-authtool ceph-mon ceph-osd ceph radosgw radosgw-admin; do
  if ! command -v "$tool" >/dev/null; then
    log "'$tool' not found; install: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd"
    exit 127
  fi
done

# A previous run may have been left running (crashed test run, interrupted script).
stop_all
for p in "$PORT" "$MON_PORT"; do
  if port_open "$p"; then
    log "port $p on 127.0.0.1 is in use by a process not started from $STATE_DIR; stop it or pick other ports"
    exit 1
  fi
done

# Whatever fails from here on, leave no daemon behind.
trap 'status=$?; [ "$status" = 0 ] || { log "start failed; stopping what was started"; stop_all; }' EXIT

mon_command() {
  local i
  for ((i = 1; i <= 50; i++)); do
    if "$@" >>log/mon-commands.out 2>&1; then return 0; fi
    sleep 0.1
  done
  log "'$*' kept failing; see $C/log/mon-commands.out"
  return 1
}

rm -rf "$STATE_DIR"
mkdir -p "$STATE_DIR"/{mon,osd0,run,log,rgw}
cd "$STATE_DIR"
FSID=$(cat /proc/sys/kernel/random/uuid)
OSDUUID=$(cat /proc/sys/kernel/random/uuid)
C=$(pwd -P)
cat >ceph.conf <<EOF
[global]
fsid = $FSID
mon_host = v1:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_objectstore = memstore
memstore_device_bytes = 2147483648
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
mon_max_pg_per_osd = 1000
run_dir = $C/run
admin_socket = $C/run/\$name.asok
log_file = $C/log/\$name.log
pid_file = $C/run/\$name.pid
keyring = /dev/null
ms_bind_ipv6 = false
[mon]
# radosgw creates its pools one monitor command at a time, and the monitor batches map
# changes for paxos_propose_interval (1 s by default): ~9 s of a cold start. One node,
# no quorum to protect, so propose at once.
paxos_propose_interval = 0.01
paxos_min_wait = 0.01
[osd]
osd_class_update_on_start = false
osd_crush_update_on_start = false
[mon.a]
mon_data = $C/mon
[osd.0]
osd_data = $C/osd0
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$PORT
rgw_data = $C/rgw
EOF
monmaptool --create --add a "v1:127.0.0.1:$MON_PORT" --fsid "$FSID" monmap >/dev/null
ceph-authtool --create-keyring mon.keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-mon -c ceph.conf --mkfs -i a --monmap monmap --keyring mon.keyring
ceph-mon -c ceph.conf -i a
# A command sent in the first moments of the monitor can fail with "EPERM: problem getting
# command descriptions" (the client still sees a zero fsid); both commands are idempotent.
mon_command ceph -c ceph.conf --connect-timeout 10 osd new "$OSDUUID"
ceph-osd -c ceph.conf -i 0 --mkfs --osd-uuid "$OSDUUID" >log/osd-mkfs.out 2>&1
mon_command ceph -c ceph.conf --connect-timeout 10 osd crush add osd.0 1.0 host=localhost root=default
ceph-osd -c ceph.conf -i 0 2>/dev/null
radosgw -c ceph.conf -n client.rgw.a
for ((i = 0; i < 240; i++)); do
  http_ok && break
  sleep 0.25
done
if ! http_ok; then
  log "radosgw did not answer on 127.0.0.1:$PORT; see $C/log/"
  exit 1
fi
radosgw-admin -c ceph.conf user create --uid=test --display-name=Test \
  --access-key=TESTKEY --secret=TESTSECRET >/dev/null
echo "RGW up on http://127.0.0.1:$PORT (TESTKEY/TESTSECRET); state $C; pids: $(cat run/*.pid | tr '\n' ' ')"
