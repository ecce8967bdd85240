package api

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBadText(t *testing.T) {
	tests := []struct {
		body     string
		wantPath string // "" when every string is text
	}{
		{`{"device":"0xabc/goe/1","power_w":7000}`, ""},
		{`{"device":"Küche ☀ 😀"}`, ""},
		{`{"name":"\u00fc\ud83d\ude00"}`, ""},
		{`{"name":"a\\ud800"}`, ""}, // an escaped backslash, then text
		{"{\"device\":\"a\xffb\"}", "device"},
		{"{\"zone\":\"DE\",\"device\":\"\xc3\x28\"}", "device"},
		{`{"name":"\ud800"}`, "name"},
		{`{"name":"\udc00x"}`, "name"},
		{`{"name":"\ud83dx"}`, "name"},
		{`{"name":"\ud83d\u0041"}`, "name"},
		{"{\"limits\":{\"a\":1,\"b\":\"\xfe\"}}", "limits.b"},
		{"{\"tags\":[\"ok\",1,\"\xfe\"]}", "tags[2]"},
		{"{\"tags\":[{},[\"\xfe\"]]}", "tags[1][0]"},
		{"{\"\xfe\":1}", "(a key)"},
		{"\"\xfe\"", "body"},
		{"{\"a\":", ""}, // not JSON: the decoder's error
	}
	for _, tt := range tests {
		path, found := badText([]byte(tt.body))
		if found != (tt.wantPath != "") || path != tt.wantPath {
			t.Errorf("badText(%q) = %q, %v; want %q", tt.body, path, found, tt.wantPath)
		}
	}
}

// FuzzBadText: whenever badText finds nothing in a body that decodes,
// every string decoded from it is the text that was sent (no U+FFFD that
// the body did not hold), and it never panics.
func FuzzBadText(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`, `{"a":["\u00e9",{"b":"\ud83d\ude00"}]}`, `[1,"x",null]`, `"\\u"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		path, found := badText(body)
		if found && path == "" {
			t.Fatalf("%q: found without a path", body)
		}
		var v any
		if found || json.Unmarshal(body, &v) != nil {
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("%q: invalid UTF-8 decoded and not found", body)
		}
		var walk func(any)
		walk = func(x any) {
			switch x := x.(type) {
			case string:
				for _, r := range x {
					if r == utf8.RuneError && !containsReplacement(body) {
						t.Fatalf("%q: decoded a U+FFFD the body does not hold, not found", body)
					}
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for k, e := range x {
					walk(k)
					walk(e)
				}
			}
		}
		walk(v)
	})
}

// containsReplacement: the body itself holds U+FFFD, literally or escaped.
func containsReplacement(body []byte) bool {
	s := strings.ToLower(string(body))
	return strings.Contains(s, "\ufffd") || strings.Contains(s, `\ufffd`)
}
