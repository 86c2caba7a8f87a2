# OpenID Connect peer: oidc-provider-mock (PyPI), a real OIDC provider
# (authlib) for the plugbay-auth login-flow test.
#
# Installs the package into the shared venv when missing, starts it on a
# free loopback port, registers its pid for peers_stop, and exports
# PLUGBAY_TEST_OIDC_ISSUER=http://127.0.0.1:<port> (its issuer: discovery at
# /.well-known/openid-configuration, RS256 ID tokens, JWKS at /jwks).
#
# What the mock does (read from its source, v0.3): the authorize endpoint
# shows a form on GET and issues a code on POST with a `sub` field (no
# login, any client id, any redirect URI); ID tokens are RS256 JWTs; access
# tokens are opaque; refresh tokens are issued and NOT rotated (the refresh
# response carries no new refresh token); PKCE parameters are accepted but
# not verified.

peer_oidc() {
  local venv port dir pid
  venv="$(peer_venv)" || { peer_failed oidc "could not create the Python venv"; return 0; }
  if [ ! -x "$venv/bin/oidc-provider-mock" ]; then
    echo "oidc peer: installing oidc-provider-mock" >&2
    if ! "$venv/bin/pip" install --quiet oidc-provider-mock >&2; then
      peer_failed oidc "pip install oidc-provider-mock failed"
      return 0
    fi
  fi
  port="$(free_port)"
  dir="$PEERS_DIR/oidc-$port"
  mkdir -p "$dir"
  PYTHONWARNINGS=ignore "$venv/bin/oidc-provider-mock" -H 127.0.0.1 -p "$port" \
    >"$dir/oidc.log" 2>&1 &
  pid=$!
  peer_track "$pid"
  if ! wait_for_port "$port" 60; then
    peer_failed oidc "oidc-provider-mock did not listen on $port (log: $dir/oidc.log)"
    return 0
  fi
  export PLUGBAY_TEST_OIDC_ISSUER="http://127.0.0.1:$port"
  echo "oidc peer: $PLUGBAY_TEST_OIDC_ISSUER (pid $pid)" >&2
}
