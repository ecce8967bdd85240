//go:build !e2e

package node

import "net/http"

// withTestHooks is the API handler as built: the test hooks exist only in
// binaries built with -tags e2e (see testhooks_e2e.go).
func withTestHooks(_ *Node, h http.Handler) http.Handler { return h }
