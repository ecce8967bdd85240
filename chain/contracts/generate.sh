#!/bin/sh
# Regenerates the contract artifacts and Go bindings (run by `go generate
# ./chain`, i.e. `make generate`): npm ci (solc-js and OpenZeppelin pinned in
# package-lock.json), compile.js (standard-JSON compile into
# build/combined.json + build/inputs.sha256), then abigen --v2 at the
# go-ethereum version the module uses into ../bindings/{registry,rec,flex}.
# Needs node + npm and the Go module proxy; a plain `go build` needs neither.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
node compile.js
ABIGEN_VERSION=v1.17.8
if command -v abigen >/dev/null 2>&1 && abigen --version 2>/dev/null | grep -q "${ABIGEN_VERSION#v}"; then
	ABIGEN=abigen
elif [ -x "$(go env GOPATH)/bin/abigen" ] && "$(go env GOPATH)/bin/abigen" --version 2>/dev/null | grep -q "${ABIGEN_VERSION#v}"; then
	ABIGEN="$(go env GOPATH)/bin/abigen"
else
	GOFLAGS= go install "github.com/ethereum/go-ethereum/cmd/abigen@${ABIGEN_VERSION}"
	ABIGEN="$(go env GOPATH)/bin/abigen"
fi
# One package per contract: abigen --v2 declares a type per output struct
# (Eip712DomainOutput) that two contracts in one package would both declare.
rm -f ../bindings/bindings.go
for c in AttestorRegistry:registry REC:rec FLEX:flex; do
	name=${c%%:*} pkg=${c##*:}
	exc=$(for o in AttestorRegistry REC FLEX; do [ "$o" = "$name" ] || printf '%s.sol:%s,' "$o" "$o"; done)
	mkdir -p "../bindings/$pkg"
	"$ABIGEN" --v2 --combined-json build/combined.json --exc "${exc%,}" --pkg "$pkg" --out "../bindings/$pkg/$pkg.go"
done
echo "generate.sh: build/combined.json, build/inputs.sha256 and ../bindings/{registry,rec,flex} regenerated"
