package api

import (
	"net"
	"net/http"
	"strings"
)

// hostGuard decides which Host headers the API answers, against DNS
// rebinding: a web page the homeowner visits can point its own name at
// 127.0.0.1 (or the node's LAN address) and then read the API from the
// browser as if it were the same site. The browser still sends the page's
// name as Host, so answering only the names the node is reachable as stops
// it. IP literals are always answered: a page cannot make a browser send
// another site's Host, and a page served from an IP is that IP's origin.
type hostGuard struct {
	any      bool
	exact    map[string]bool
	suffixes []string // ".example.org" for "*.example.org" or ".example.org"
}

// newHostGuard allows loopback names, IP literals and the names in
// allowed: exact names, "*.domain" or ".domain" for every name under
// domain, or "*" for any (which turns the guard off).
func newHostGuard(allowed []string) *hostGuard {
	g := &hostGuard{exact: map[string]bool{"localhost": true}, suffixes: []string{".localhost"}}
	for _, h := range allowed {
		h = normaliseHost(h)
		switch {
		case h == "*":
			g.any = true
		case strings.HasPrefix(h, "*."):
			g.suffixes = append(g.suffixes, h[1:])
		case strings.HasPrefix(h, "."):
			g.suffixes = append(g.suffixes, h)
		case h != "":
			g.exact[h] = true
		}
	}
	return g
}

// normaliseHost is a Host header's or a configured name's host part,
// lower-case, without port, brackets or a trailing dot.
func normaliseHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(h, ".")
}

// allows reports whether the API answers a request with this Host.
func (g *hostGuard) allows(host string) bool {
	h := normaliseHost(host)
	if g.any || h == "" || net.ParseIP(h) != nil || g.exact[h] {
		return true // "" is HTTP/1.0 without Host: not a browser
	}
	for _, s := range g.suffixes {
		if strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}

// refuseHost answers a request for a name the node is not known as. 421
// Misdirected Request: this server is not the one for that name.
func (s *Server) refuseHost(w http.ResponseWriter, r *http.Request) {
	s.cfg.Logger.Warn("refused a request for a host name the node is not configured as (DNS rebinding?)",
		"host", r.Host, "path", r.URL.Path, "remote", r.RemoteAddr)
	s.writeError(w, http.StatusMisdirectedRequest,
		"host "+quoteHost(r.Host)+" is not a name this node answers to; if it is yours, add it to allowed_hosts in the node's config")
}

// quoteHost keeps a hostile Host header short and printable in the answer.
func quoteHost(h string) string {
	if len(h) > 100 {
		h = h[:100] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, `"`+h+`"`)
}
