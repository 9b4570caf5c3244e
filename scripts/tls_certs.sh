#!/usr/bin/env bash
# Make a private CA and a server certificate for "localhost" (DNS name only,
# so https://127.0.0.1 must fail host verification) in directory $1.
set -euo pipefail
d=$1
mkdir -p "$d"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ldai_fdw test CA" \
  -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' > "$d/ext.cnf"
openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
  -days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null
chmod 755 "$d"; chmod 644 "$d/ca.pem"
