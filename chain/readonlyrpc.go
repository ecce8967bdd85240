package chain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// readOnlyMethods are the JSON-RPC methods a read-only endpoint passes on:
// what an auditor, an explorer or a wallet's balance view needs. Nothing
// that sends, signs, subscribes or keeps server-side state (filters) is
// here.
var readOnlyMethods = map[string]bool{
	"eth_chainId": true, "net_version": true, "net_listening": true, "web3_clientVersion": true,
	"eth_blockNumber": true, "eth_syncing": true, "eth_gasPrice": true, "eth_maxPriorityFeePerGas": true,
	"eth_feeHistory": true, "eth_getBlockByNumber": true, "eth_getBlockByHash": true,
	"eth_getHeaderByNumber": true, "eth_getHeaderByHash": true,
	"eth_getTransactionByHash": true, "eth_getTransactionReceipt": true, "eth_getBlockReceipts": true,
	"eth_getTransactionCount": true, "eth_getBalance": true, "eth_getCode": true, "eth_getStorageAt": true,
	"eth_call": true, "eth_estimateGas": true, "eth_getLogs": true,
}

// MaxRPCBody bounds a read-only JSON-RPC request body.
const MaxRPCBody = 1 << 20

// rpcCall is the part of a JSON-RPC 2.0 request the filter reads.
type rpcCall struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
}

// ParseRPCMethods returns the methods of a JSON-RPC 2.0 request body, a
// single call or a batch, in order, and the id of a single call.
func ParseRPCMethods(body []byte) (methods []string, id json.RawMessage, err error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, nil, fmt.Errorf("empty request")
	}
	if body[0] == '[' {
		var calls []rpcCall
		if err := json.Unmarshal(body, &calls); err != nil {
			return nil, nil, fmt.Errorf("malformed batch: %v", err)
		}
		if len(calls) == 0 {
			return nil, nil, fmt.Errorf("empty batch")
		}
		for i, c := range calls {
			if c.Method == "" {
				return nil, nil, fmt.Errorf("batch[%d]: no method", i)
			}
			methods = append(methods, c.Method)
		}
		return methods, nil, nil
	}
	var c rpcCall
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, nil, fmt.Errorf("malformed request: %v", err)
	}
	if c.Method == "" {
		return nil, c.ID, fmt.Errorf("no method")
	}
	return []string{c.Method}, c.ID, nil
}

// ReadOnlyRPC serves next, a JSON-RPC handler, for POST requests whose
// every call is a read-only method; anything else is refused whole with
// a JSON-RPC error, so a batch cannot smuggle a send past the check. It
// lets a running node's embedded chain be read by URL (gridmint audit, an
// explorer) without exposing its transaction pool.
func ReadOnlyRPC(next http.Handler) http.Handler {
	return filterRPC(next, func(m string) bool { return readOnlyMethods[m] }, "this endpoint is read-only", nil)
}

// filterRPC serves next for POST requests whose every call is allowed.
// wrap, when not nil, may take over a request by its methods: it returns
// a function that runs serve (or, returning an error without running it,
// has the request answered with that error).
func filterRPC(next http.Handler, allowed func(string) bool, why string, wrap func(methods []string) func(serve func()) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "JSON-RPC wants POST", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRPCBody))
		if err != nil {
			rpcError(w, nil, -32600, fmt.Sprintf("request body: %v (at most %d bytes)", err, MaxRPCBody))
			return
		}
		methods, id, err := ParseRPCMethods(body)
		if err != nil {
			rpcError(w, id, -32600, err.Error())
			return
		}
		for _, m := range methods {
			if !allowed(m) {
				rpcError(w, id, -32601, fmt.Sprintf("method %s is not served here: %s", m, why))
				return
			}
		}
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		r2.Header.Set("Content-Type", "application/json")
		served := false
		serve := func() { served = true; next.ServeHTTP(w, r2) }
		if wrap != nil {
			if around := wrap(methods); around != nil {
				if err := around(serve); err != nil && !served {
					rpcError(w, id, -32000, err.Error())
				}
				return
			}
		}
		serve()
	})
}

func rpcError(w http.ResponseWriter, id json.RawMessage, code int, msg string) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	w.Header().Set("Content-Type", "application/json")
	// JSON-RPC over HTTP answers errors with 200 and the error object;
	// clients read the object, not the status.
	json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0", "id": id,
		"error": map[string]any{"code": code, "message": msg},
	})
}
