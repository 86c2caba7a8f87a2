# moto server: a Python fake of AWS (S3 here; it accepts any credentials).
# Used by crates/plugbay-storage/tests/s3_peer.rs as a second S3 opinion.
#
# Installs moto[server] into the shared peer venv once, starts it on a free
# port, creates the bucket `plugbay-test` with a path-style PUT and exports
# PLUGBAY_TEST_MOTO_ENDPOINT (bucket: PLUGBAY_TEST_MOTO_BUCKET).

peer_moto() {
  local venv
  venv=$(peer_venv) || { peer_failed moto "no Python venv"; return 0; }
  if [ ! -x "$venv/bin/moto_server" ]; then
    echo "installing moto[server] into $venv" >&2
    if ! "$venv/bin/pip" install --quiet "moto[server]" >&2; then
      peer_failed moto "pip install moto[server] failed"
      return 0
    fi
  fi
  local port bucket="plugbay-test"
  port=$(free_port)
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$PEERS_DIR/moto.log" 2>&1 &
  peer_track $!
  if ! wait_for_port "$port" 60; then
    peer_failed moto "moto_server did not start (see $PEERS_DIR/moto.log)"
    return 0
  fi
  # moto accepts unsigned requests; CreateBucket in us-east-1 needs no body.
  if ! curl -fsS -X PUT "http://127.0.0.1:$port/$bucket" >/dev/null; then
    peer_failed moto "could not create bucket $bucket"
    return 0
  fi
  export PLUGBAY_TEST_MOTO_ENDPOINT="http://127.0.0.1:$port"
  export PLUGBAY_TEST_MOTO_BUCKET="$bucket"
}
