# s3s-fs: a Rust S3 server over a folder, with SigV4 checked. Used by
# crates/plugbay-storage/tests/s3_peer.rs (feature `s3`).
#
# Installs s3s-fs 0.14.1 (newer versions need a newer rustc) into
# $PLUGBAY_CACHE/s3s once (about 4 minutes to build), then reuses it.
# Exports PLUGBAY_TEST_S3_ENDPOINT, PLUGBAY_TEST_S3_BUCKET,
# PLUGBAY_TEST_S3_ACCESS_KEY and PLUGBAY_TEST_S3_SECRET_KEY.

peer_s3s() {
  local root="$PLUGBAY_CACHE/s3s" bin
  bin="$root/bin/s3s-fs"
  if [ ! -x "$bin" ]; then
    echo "installing s3s-fs 0.14.1 into $root (takes a few minutes)" >&2
    # A private target dir: the build must not wait on (or pollute) the
    # workspace's, and it is deleted afterwards to keep the cache small.
    local build="$PEERS_DIR/s3s-build"
    if ! CARGO_TARGET_DIR="$build" cargo install s3s-fs@0.14.1 --features binary \
      --locked --root "$root" >&2; then
      rm -rf "$build"
      peer_failed s3s "cargo install s3s-fs failed"
      return 0
    fi
    rm -rf "$build"
  fi
  local port dir bucket="plugbay-test" ak="plugbay-ak" sk
  port=$(free_port)
  dir="$PEERS_DIR/s3s-data"
  sk="plugbay-sk-$RANDOM$RANDOM"
  # Buckets are folders under the data root.
  mkdir -p "$dir/$bucket"
  "$bin" --host 127.0.0.1 --port "$port" --access-key "$ak" --secret-key "$sk" "$dir" \
    >"$PEERS_DIR/s3s.log" 2>&1 &
  peer_track $!
  if ! wait_for_port "$port" 30; then
    peer_failed s3s "s3s-fs did not start (see $PEERS_DIR/s3s.log)"
    return 0
  fi
  export PLUGBAY_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  export PLUGBAY_TEST_S3_BUCKET="$bucket"
  export PLUGBAY_TEST_S3_ACCESS_KEY="$ak"
  export PLUGBAY_TEST_S3_SECRET_KEY="$sk"
}
