#!/usr/bin/env bash
# Runs a command beside a real S3-compatible server: OpenStack Swift from
# Debian's packages (account, container and object servers and the proxy
# with its s3api and tempauth middleware), one replica in a temporary
# folder, on loopback ports. s3api checks every request's SigV4 signature.
#   with-swift.sh COMMAND [ARGS...]
# The command gets EB_S3_ENDPOINT, EB_S3_REGION, and the one account's keys
# in EB_S3_ACCESS_KEY / EB_S3_SECRET_KEY. Exits 77 (skipped) without Swift.
set -euo pipefail
for b in swift-proxy-server swift-object-server swift-container-server swift-account-server \
  swift-ring-builder memcached; do
  if ! command -v "$b" > /dev/null; then
    echo "with-swift: needs OpenStack Swift (packages swift-proxy, swift-object," \
      "swift-container, swift-account) and memcached: skipped"
    exit 77
  fi
done
dir=$(mktemp -d /tmp/encbox-swift.XXXXXX)
pids=()
stop_swift() {
  for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$dir"
}
trap stop_swift EXIT
mkdir -p "$dir/node/d1"
# A free port each (bound for a moment by python; Swift binds it next).
ports=$(python3 -c 'import socket
s=[socket.socket() for _ in range(5)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r p_account p_container p_object p_proxy p_cache <<< "$ports"
cat > "$dir/swift.conf" << CONF
[swift-hash]
swift_hash_path_suffix = encbox-test-$RANDOM
swift_hash_path_prefix = encbox-test
[storage-policy:0]
name = Policy-0
default = yes
CONF
for pair in account:$p_account container:$p_container object:$p_object; do
  name=${pair%%:*}
  port=${pair##*:}
  (cd "$dir" &&
    swift-ring-builder "$name.builder" create 6 1 1 > /dev/null &&
    swift-ring-builder "$name.builder" add "r1z1-127.0.0.1:$port/d1" 1 > /dev/null &&
    swift-ring-builder "$name.builder" rebalance > /dev/null)
  cat > "$dir/$name-server.conf" << CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
devices = $dir/node
mount_check = false
swift_dir = $dir
workers = 0
log_level = WARNING
[pipeline:main]
pipeline = $name-server
[app:$name-server]
use = egg:swift#$name
CONF
done
cat > "$dir/proxy-server.conf" << CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $p_proxy
swift_dir = $dir
workers = 0
log_level = WARNING
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_encbox_uploader = swift-test-secret-8c1e .admin
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$p_cache
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
CONF
# tempauth keeps its tokens in memcached
memcached -l 127.0.0.1 -p "$p_cache" -U 0 -m 16 -u "$(id -un)" > "$dir/memcached.log" 2>&1 &
pids+=($!)
for s in account container object proxy; do
  "swift-$s-server" "$dir/$s-server.conf" -v > "$dir/$s.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 100); do
  if curl -fs "http://127.0.0.1:$p_proxy/healthcheck" > /dev/null; then
    break
  fi
  sleep 0.2
done
if ! curl -fs "http://127.0.0.1:$p_proxy/healthcheck" > /dev/null; then
  cat "$dir"/*.log
  echo "with-swift: Swift did not start"
  exit 1
fi
echo "with-swift: Swift $(/usr/bin/python3 -c 'import swift; print(swift.__version__)' 2> /dev/null) with s3api on 127.0.0.1:$p_proxy"
export EB_S3_ENDPOINT="http://127.0.0.1:$p_proxy" EB_S3_REGION=us-east-1
export EB_S3_ACCESS_KEY="encbox:uploader" EB_S3_SECRET_KEY="swift-test-secret-8c1e"
status=0
"$@" || status=$?
if [ "$status" != 0 ] && [ "$status" != 77 ]; then
  tail -n 20 "$dir"/*.log
fi
exit "$status"
