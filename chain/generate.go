package chain

// The contracts' compiled artifacts (contracts/build) and Go bindings
// (bindings/bindings.go) are generated and committed; regenerate them after
// editing contracts/*.sol with `make generate` (node + npm needed).
//go:generate sh contracts/generate.sh
