# Redis peer: a private, throwaway redis-server for the cache tests.
#
# Installs Debian's redis-server with apt-get when the binary is missing,
# starts it in the foreground of a background job on a free loopback port
# (no persistence), registers its pid for peers_stop, and exports
# PLUGBAY_TEST_REDIS_URL=redis://127.0.0.1:<port>/0.

peer_redis() {
  local bin port dir pid
  bin="$(command -v redis-server || true)"
  if [ -z "$bin" ]; then
    echo "redis peer: installing Debian's redis-server" >&2
    local sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    if ! { $sudo apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >&2; }; then
      peer_failed redis "apt-get install redis-server failed"
      return 0
    fi
    bin="$(command -v redis-server || true)"
    # The package starts a system service on 6379; ours is separate.
  fi
  if [ -z "$bin" ]; then
    peer_failed redis "redis-server not found after installing it"
    return 0
  fi

  port="$(free_port)"
  dir="$PEERS_DIR/redis-$port"
  mkdir -p "$dir"
  "$bin" --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize no --dir "$dir" --logfile "$dir/redis.log" &
  pid=$!
  peer_track "$pid"
  if ! wait_for_port "$port" 30; then
    peer_failed redis "redis-server did not listen on $port (log: $dir/redis.log)"
    return 0
  fi
  export PLUGBAY_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
  echo "redis peer: $PLUGBAY_TEST_REDIS_URL (pid $pid)" >&2
}
