#!/usr/bin/env bash
# S3 for the storage tests: a single-node Ceph cluster (one monitor, one
# in-memory OSD, no cephx) and radosgw on 127.0.0.1:7480, the recipe measured
# in ENVIRONMENT.md. `start` installs the Debian packages when missing, boots
# the cluster under .services/radosgw/, creates a test user with known keys
# and a bucket, waits until S3 answers and writes .services/radosgw.env;
# `stop` stops the daemons by PID and removes the cluster. Both are idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/services/lib/daemon.bash
root="$PWD/.services/radosgw"
env_file="$PWD/.services/radosgw.env"
conf="$root/ceph.conf"
port="${MANTLE_RADOSGW_PORT:-7480}"
endpoint="http://127.0.0.1:$port"
access_key=mantle-test-access
secret_key=mantle-test-secret-0123456789abcdef
bucket=mantle-test
daemons=(radosgw osd.0 mon.a)

pid_of() { cat "$root/run/$1.pid" 2>/dev/null || true; }
alive() { pid_alive "$root/run/$1.pid"; }
answers() { curl -fsS --max-time 2 -o /dev/null "$endpoint/" 2>/dev/null; }
ceph_() { timeout 20 ceph -c "$conf" "$@"; }

make_bucket() {
  # rclone's S3 SDK refuses to start when AWS_CA_BUNDLE is set (plain http here anyway).
  env -u AWS_CA_BUNDLE RCLONE_CONFIG_RGW_TYPE=s3 RCLONE_CONFIG_RGW_PROVIDER=Ceph RCLONE_CONFIG_RGW_ENDPOINT="$endpoint" \
    RCLONE_CONFIG_RGW_ACCESS_KEY_ID="$access_key" RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY="$secret_key" \
    rclone mkdir --retries 1 --low-level-retries 1 -q "rgw:$bucket" 2>>"$root/log/rclone.log"
}

wait_for() { # seconds, description, command...
  local seconds="$1" what="$2"
  shift 2
  wait_until "$seconds" "$@" && return 0
  echo "radosgw.sh: $what did not happen in ${seconds} s; logs in $root/log/" >&2
  tail -n 15 "$root"/log/*.log >&2 2>/dev/null || true
  return 1
}

write_env() {
  cat >"$env_file" <<ENV
MANTLE_TEST_S3_ENDPOINT=$endpoint
MANTLE_TEST_S3_REGION=us-east-1
MANTLE_TEST_S3_ACCESS_KEY=$access_key
MANTLE_TEST_S3_SECRET_KEY=$secret_key
MANTLE_TEST_S3_BUCKET=$bucket
ENV
}

start() {
  if ! command -v radosgw >/dev/null || ! command -v ceph-osd >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v ceph >/dev/null; then
    echo "radosgw.sh: installing radosgw ceph-mon ceph-osd ceph-common" >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd ceph-common >/dev/null
  fi
  command -v rclone >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends rclone >/dev/null
  if alive radosgw && answers; then
    echo "radosgw.sh: already running (pid $(pid_of radosgw)) on $endpoint" >&2
    make_bucket
    write_env
    return 0
  fi
  stop_daemons
  rm -rf "$root"
  mkdir -p "$root/run" "$root/log" "$root/mon-a" "$root/osd-0" "$root/rgw"
  local fsid
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:3300
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
ms mon client mode = crc secure
ms client mode = crc secure
osd objectstore = memstore
# In memory: big enough for the 1 GiB benchmark objects of ours and rclone's, with room for
# garbage not yet collected; collected within seconds, not hours (the tests overwrite a lot).
memstore device bytes = 8589934592
mon osd full ratio = 0.97
mon osd backfillfull ratio = 0.95
mon osd nearfull ratio = 0.9
mon data avail warn = 5
rgw gc obj min wait = 0
rgw gc processor period = 10
rgw gc processor max time = 10
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
run dir = $root/run
pid file = $root/run/\$name.pid
admin socket = $root/run/\$name.asok
log file = $root/log/\$name.log
keyring = $root/keyring
mon data = $root/mon-\$id
osd data = $root/osd-\$id
rgw data = $root/rgw
[client.rgw.local]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw dns name = 127.0.0.1
pid file = $root/run/radosgw.pid
CONF
  ceph-authtool --create-keyring "$root/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --addv a "[v2:127.0.0.1:3300]" --fsid "$fsid" "$root/monmap" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$root/monmap" --keyring "$root/keyring"
  ceph-mon -c "$conf" -i a
  wait_for 30 "the monitor answering" ceph_ mon stat >/dev/null
  local osd_uuid id
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  id="$(ceph_ osd new "$osd_uuid")"
  ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$osd_uuid" 2>>"$root/log/osd-mkfs.log"
  ceph-osd -c "$conf" -i "$id"
  wait_for 60 "the OSD coming up" sh -c "timeout 10 ceph -c '$conf' osd stat 2>/dev/null | grep -q '1 up'"
  radosgw -c "$conf" -n client.rgw.local
  wait_for 90 "radosgw answering on $endpoint" answers
  radosgw-admin -c "$conf" user create --uid=mantle-test --display-name="mantle tests" --access-key="$access_key" --secret-key="$secret_key" >/dev/null
  # The bucket, through S3 itself (radosgw-admin cannot create one).
  # rclone's S3 SDK refuses to start when AWS_CA_BUNDLE is set (plain http here anyway).
  wait_for 30 "creating bucket $bucket" make_bucket
  echo "radosgw.sh: started (pid $(pid_of radosgw)) on $endpoint" >&2
  write_env
}

stop_daemons() {
  local d
  for d in "${daemons[@]}"; do stop_pidfile "radosgw.sh: $d" "$root/run/$d.pid" 2>/dev/null; done
}

stop() {
  rm -f "$env_file"
  stop_daemons
  rm -rf "$root"
  echo "radosgw.sh: stopped" >&2
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
