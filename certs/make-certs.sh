#!/usr/bin/env bash
# Makes a throwaway certificate authority plus a broker (server) and a client
# certificate, for trying TLS locally and for the test suite. Not for
# production: keys are unencrypted and the CA lives next to them.
#
#   certs/make-certs.sh [OUTDIR] [SERVER_SAN] [CLIENT_NAME...]
#
# OUTDIR defaults to certs/ (where CAcert defaults point: ./certs/ca.crt).
# SERVER_SAN defaults to "DNS:localhost,IP:127.0.0.1,IP:::1" (an empty
# argument too).
# Writes ca.crt ca.key server.crt server.key, and client.crt client.key for
# the common name sensor_reporter-client; with CLIENT_NAMEs instead
# NAME.crt NAME.key for each, the name as common name: a broker with
# use_identity_as_username takes it as the user name (docs/security.md).
set -euo pipefail
out=${1:-$(dirname "$0")}
san=${2:-DNS:localhost,IP:127.0.0.1,IP:::1}
clients=("${@:3}")
days=825
mkdir -p "$out"
cd "$out"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }

key ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=sensor_reporter test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt

sign() {  # sign NAME CN EXTENSIONS
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" -sha256 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
sign server "${san%%,*}" "subjectAltName=$san
extendedKeyUsage=serverAuth"
if [ ${#clients[@]} -eq 0 ]; then
  sign client "sensor_reporter-client" "extendedKeyUsage=clientAuth"
else
  for name in "${clients[@]}"; do sign "$name" "$name" "extendedKeyUsage=clientAuth"; done
fi
rm -f ca.srl
chmod 600 ./*.key
names=("${clients[@]}")
[ ${#names[@]} -gt 0 ] || names=(client)
echo "certificates in $(pwd): ca.crt server.crt/key$(printf ' %s.crt/key' "${names[@]}") (server SAN: $san)"
