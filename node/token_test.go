package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAPITokenFile(t *testing.T) {
	tests := []struct {
		name    string
		content []byte // nil: no file
		wantErr string // "" for success
	}{
		{name: "made when missing", content: nil},
		{name: "a good token with a newline", content: []byte("0123456789abcdef0123\n")},
		{name: "all zero bytes", content: make([]byte, 32), wantErr: "byte 0 is 0x00"},
		{name: "a space inside", content: []byte("0123456789 abcdef0123"), wantErr: "byte 10 is 0x20"},
		{name: "a byte-order mark", content: []byte("\xef\xbb\xbf0123456789abcdef0123"), wantErr: "byte 0 is 0xef"},
		{name: "too short", content: []byte("short-token\n"), wantErr: "want at least 16"},
		{name: "empty", content: []byte("\n"), wantErr: "want at least 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "api-token")
			if tt.content != nil {
				if err := os.WriteFile(path, tt.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			tok, err := loadOrCreateToken(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("loadOrCreateToken = %q, %v; want an error containing %q", tok, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := checkToken(tok); err != nil {
				t.Errorf("token %q: %v", tok, err)
			}
			again, err := loadOrCreateToken(path)
			if err != nil || again != tok {
				t.Errorf("reloaded token %q, %v; want %q", again, err, tok)
			}
		})
	}
}
