package chain

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadOnlyRPC(t *testing.T) {
	var passed []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		passed = append(passed, string(b))
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
	})
	srv := httptest.NewServer(ReadOnlyRPC(next))
	defer srv.Close()
	tests := []struct {
		name     string
		method   string
		body     string
		wantPass bool
		wantErr  string // in the JSON-RPC error message, when refused
		status   int
	}{
		{name: "a read passes", method: "POST", body: `{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}`, wantPass: true, status: 200},
		{name: "logs pass", method: "POST", body: `{"jsonrpc":"2.0","id":2,"method":"eth_getLogs","params":[{}]}`, wantPass: true, status: 200},
		{name: "a read batch passes", method: "POST", body: `[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_call","params":[]}]`, wantPass: true, status: 200},
		{name: "a send is refused", method: "POST", body: `{"jsonrpc":"2.0","id":7,"method":"eth_sendRawTransaction","params":["0x00"]}`, wantErr: "eth_sendRawTransaction is not served here", status: 200},
		{name: "a batch smuggling a send is refused whole", method: "POST", body: `[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_sendRawTransaction"}]`, wantErr: "read-only", status: 200},
		{name: "filters are refused", method: "POST", body: `{"jsonrpc":"2.0","id":1,"method":"eth_newFilter","params":[{}]}`, wantErr: "read-only", status: 200},
		{name: "admin is refused", method: "POST", body: `{"jsonrpc":"2.0","id":1,"method":"admin_peers"}`, wantErr: "read-only", status: 200},
		{name: "malformed", method: "POST", body: `{"method":`, wantErr: "malformed", status: 200},
		{name: "empty batch", method: "POST", body: `[]`, wantErr: "empty batch", status: 200},
		{name: "no method", method: "POST", body: `{"id":1}`, wantErr: "no method", status: 200},
		{name: "oversized", method: "POST", body: `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":["` + strings.Repeat("a", MaxRPCBody) + `"]}`, wantErr: "at most", status: 200},
		{name: "GET", method: "GET", status: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			passed = nil
			req, _ := http.NewRequest(tt.method, srv.URL, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := len(passed) == 1; got != tt.wantPass {
				t.Fatalf("passed to the chain: %v, want %v", got, tt.wantPass)
			}
			if tt.wantPass && passed[0] != tt.body {
				t.Errorf("the chain got %q, want the body unchanged %q", passed[0], tt.body)
			}
			if tt.wantErr == "" {
				return
			}
			var got struct {
				Error struct {
					Code    int
					Message string
				}
			}
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got.Error.Message, tt.wantErr) || got.Error.Code == 0 {
				t.Errorf("error %d %q, want one containing %q", got.Error.Code, got.Error.Message, tt.wantErr)
			}
		})
	}
}

// FuzzParseRPCMethods: any body either parses into non-empty method names
// or is an error; it never panics.
func FuzzParseRPCMethods(f *testing.F) {
	for _, s := range []string{`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`, `[{"method":"eth_chainId"},{"method":"eth_call"}]`,
		`[]`, `{}`, `[{"method":""}]`, `null`, ` [ {"method":1} ]`, `{"method":"a","method":"eth_sendRawTransaction"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		methods, _, err := ParseRPCMethods(body)
		if err != nil {
			return
		}
		if len(methods) == 0 {
			t.Fatalf("%q: no methods and no error", body)
		}
		for _, m := range methods {
			if m == "" {
				t.Fatalf("%q: an empty method passed", body)
			}
		}
	})
}
