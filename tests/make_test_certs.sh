#!/usr/bin/env bash
# Makes throw-away TLS material for the TLS tests in directory $1 with openssl:
#   ca.pem / ca.key        the test CA
#   node.pem / node.key    a certificate signed by it for 127.0.0.1 and localhost, usable as
#                          server and as client certificate (router and workers)
#   other-ca.pem           an unrelated CA (a client trusting only it must be refused)
#   stranger.pem/.key      a client certificate signed by the unrelated CA
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
quiet() { "$@" >/dev/null 2>&1 || { echo "make_test_certs: $* failed" >&2; "$@"; exit 1; }; }
make_ca() {
  quiet openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$2.key" -out "$2.pem"
}
make_cert() {  # name ca subject
  quiet openssl req -newkey rsa:2048 -nodes -subj "/CN=$3" -keyout "$1.key" -out "$1.csr"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:baton-worker\nextendedKeyUsage=serverAuth,clientAuth\n' \
    >"$1.ext"
  quiet openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.pem"
}
make_ca "baton test CA" ca
make_ca "unrelated CA" other-ca
make_cert node ca "baton node"
make_cert stranger other-ca "stranger"
