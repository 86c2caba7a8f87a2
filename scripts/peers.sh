# Local peers for the test suite: sourced by scripts/test.
#
# Each file in scripts/peers.d/ defines one peer: a `peer_<name>` function
# that installs the peer if needed (cached under $PLUGBAY_CACHE), starts it
# on a free loopback port, registers its pid with `peer_track`, and exports
# its address as a PLUGBAY_TEST_* variable. With CI=true a peer that cannot
# be installed or started fails the run; elsewhere it prints why and the
# tests that need it skip with a printed reason.

PLUGBAY_CACHE="${PLUGBAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plugbay}"
PEERS_DIR="$(mktemp -d -t plugbay-peers.XXXXXX)"
PEER_PIDS=()
PEERS=()

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# peer_track PID: stop this process when the run ends.
peer_track() { PEER_PIDS+=("$1"); }

# wait_for_port PORT [SECONDS]: wait until something listens on 127.0.0.1:PORT.
wait_for_port() {
  local port=$1 limit=${2:-60} i
  for ((i = 0; i < limit * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "peer on port $port did not start within ${limit}s" >&2
  return 1
}

# A Python virtualenv shared by the Python-based peers, cached between runs.
peer_venv() {
  local venv="$PLUGBAY_CACHE/venv"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --upgrade pip >&2
  fi
  echo "$venv"
}

peer_failed() {
  local name=$1 why=$2
  if [ "${CI:-}" = "true" ]; then
    echo "peer $name failed: $why" >&2
    exit 1
  fi
  echo "warning: peer $name unavailable ($why); tests that need it will skip" >&2
}

for f in "$(dirname "${BASH_SOURCE[0]}")"/peers.d/*.sh; do
  [ -e "$f" ] || continue
  # shellcheck source=/dev/null
  source "$f"
  PEERS+=("$(basename "$f" .sh)")
done

peers_start() {
  mkdir -p "$PLUGBAY_CACHE" "$PEERS_DIR"
  local name
  for name in "${PEERS[@]}"; do
    echo "starting peer: $name"
    "peer_${name//-/_}" || peer_failed "$name" "its start function failed"
  done
}

# Runs from the EXIT trap under `set -e`: nothing here may fail the run.
peers_stop() {
  local pid i
  for pid in "${PEER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  # Let them exit (up to 5 s each) before their files go: a peer still
  # writing its log while the directory is removed made `rm` fail, and with
  # it a run whose tests had all passed.
  for pid in "${PEER_PIDS[@]}"; do
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  done
  rm -rf "$PEERS_DIR" 2>/dev/null || rm -rf "$PEERS_DIR" 2>/dev/null || true
}
