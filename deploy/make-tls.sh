#!/bin/sh
# Makes TLS material for a node's API with openssl: a community CA, a server certificate for
# the node and a client certificate for mutual TLS, all signed by that CA (P-256 keys).
#
#   deploy/make-tls.sh DIR [NAME ...]     # NAMEs: the node's host names or IP addresses
#                                         # (default: localhost 127.0.0.1)
#
# Writes DIR/ca.crt, ca.key, node.crt, node.key, client.crt, client.key (keys mode 0600) and
# refuses to overwrite. In nanumd's config:
#   [api]  tls_cert_file = "DIR/node.crt"  tls_key_file = "DIR/node.key"
#          tls_client_ca_file = "DIR/ca.crt"          (only for mutual TLS)
# and for nanumctl: --tls-ca DIR/ca.crt [--tls-cert DIR/client.crt --tls-key DIR/client.key].
# Keep ca.key offline: it signs more clients (openssl x509 -req … -CA ca.crt -CAkey ca.key).
set -eu
[ $# -ge 1 ] || { echo "usage: $0 DIR [NAME ...]" >&2; exit 1; }
dir=$1
shift
[ $# -ge 1 ] || set -- localhost 127.0.0.1
if [ -e "$dir/ca.key" ]; then echo "$0: $dir already holds a CA; not overwriting" >&2; exit 1; fi
mkdir -p "$dir"
umask 077
san=""
for n in "$@"; do
  case $n in
    *[!0-9.]*) san="$san${san:+,}DNS:$n" ;;
    *) san="$san${san:+,}IP:$n" ;;
  esac
done
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $ec -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 3650 -subj "/CN=nanum community CA" 2>/dev/null
sign() {  # name, subject, extensions
  openssl req $ec -keyout "$dir/$1.key" -out "$dir/$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$3" > "$dir/$1.ext"
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/$1.crt" -days 825 -extfile "$dir/$1.ext" 2>/dev/null
  rm -f "$dir/$1.csr" "$dir/$1.ext"
}
sign node "/CN=$1" "subjectAltName=$san
extendedKeyUsage=serverAuth"
sign client "/CN=nanum client" "extendedKeyUsage=clientAuth"
chmod 644 "$dir/ca.crt" "$dir/node.crt" "$dir/client.crt"
echo "TLS material in $dir: ca.crt, node.crt/node.key ($san), client.crt/client.key"
