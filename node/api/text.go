package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// badText finds the first JSON string of body, a key or a value, that is
// not text: invalid UTF-8, or a \u escape of half a surrogate pair.
// encoding/json silently turns both into U+FFFD, which would then be
// signed into offers and requests as if the user had written it. It
// returns where the string is, as a path like "window_start" or
// "limits.max_current_a" or "tags[2]"; ok is false when every string is
// text (or the body is not JSON, which the decoder reports itself).
func badText(body []byte) (path string, found bool) {
	type frame struct {
		object  bool
		wantKey bool
		key     string
		index   int
	}
	var stack []frame
	where := func() string {
		var b []byte
		for i, f := range stack {
			switch {
			case f.object && i > 0:
				b = append(b, '.')
				fallthrough
			case f.object:
				b = append(b, f.key...)
			default:
				b = append(b, '[')
				b = strconv.AppendInt(b, int64(f.index), 10)
				b = append(b, ']')
			}
		}
		if len(b) == 0 {
			return "body"
		}
		return string(b)
	}
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var prev int64
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		// The bytes since the previous token: separators and this token.
		raw := body[prev:dec.InputOffset()]
		prev = dec.InputOffset()
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			n := len(stack)
			if n > 0 && stack[n-1].object && stack[n-1].wantKey {
				if !isText(raw) {
					stack[n-1].key = "(a key)"
					return where(), true
				}
				stack[n-1].key, stack[n-1].wantKey = t, false
				continue
			}
			if !isText(raw) {
				return where(), true
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// isText reports whether raw, a JSON string literal with the separators
// before it, is valid UTF-8 whose \u escapes pair their surrogates.
func isText(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // \" \\ \n …: skip the escaped character
			continue
		}
		r, ok := hex4(raw[i+2:])
		if !ok {
			return true // malformed: the decoder says so
		}
		i += 5
		switch {
		case utf16.IsSurrogate(r) && r < 0xdc00:
			// A high surrogate must be followed by \u and a low one.
			if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if lo, ok := hex4(raw[i+3:]); ok && lo >= 0xdc00 && lo <= 0xdfff {
					i += 6
					continue
				}
			}
			return false
		case utf16.IsSurrogate(r):
			return false // a low surrogate alone
		}
	}
	return true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(v), err == nil
}
