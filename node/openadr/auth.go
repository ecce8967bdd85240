package openadr

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
)

// Role is what kind of client a token belongs to.
type Role string

// Roles.
const (
	// RoleBL is the utility's business logic: it writes programs and
	// events and reads everything.
	RoleBL Role = "bl"
	// RoleVEN is a customer's VEN: it reads the programs and events
	// targeted at it and writes reports.
	RoleVEN Role = "ven"
)

// Scopes of the specification (securitySchemes.oAuth2ClientCredentials).
const (
	ScopeReadAll            = "read_all"
	ScopeReadTargets        = "read_targets"
	ScopeReadVenObjects     = "read_ven_objects"
	ScopeWritePrograms      = "write_programs"
	ScopeWriteEvents        = "write_events"
	ScopeWriteReports       = "write_reports"
	ScopeWriteSubscriptions = "write_subscriptions"
	ScopeWriteVens          = "write_vens"
)

// roleScopes is the role matrix: the scopes each role may hold, as the
// specification describes them ("BL can read all resources", "Only BL
// can write to programs", "only VENs can write to reports", "VENs and BL
// can write to subscriptions", "VENS and BL can write to vens and
// resources"). A token without an explicit scope gets all of its role's.
var roleScopes = map[Role][]string{
	RoleBL:  {ScopeReadAll, ScopeWritePrograms, ScopeWriteEvents, ScopeWriteSubscriptions, ScopeWriteVens},
	RoleVEN: {ScopeReadTargets, ScopeReadVenObjects, ScopeWriteReports, ScopeWriteSubscriptions, ScopeWriteVens},
}

// readScopes are the scopes read_all stands in for.
var readScopes = []string{ScopeReadTargets, ScopeReadVenObjects}

type client struct {
	id, secret string
	role       Role
}

// claims is a token's content.
type claims struct {
	Client  string   `json:"sub"`
	Role    Role     `json:"role"`
	Scopes  []string `json:"scp"`
	Expires int64    `json:"exp"` // Unix seconds, clock time
}

// allows reports whether the token grants scope: directly, or read_all
// for a read scope.
func (c claims) allows(scope string) bool {
	if slices.Contains(c.Scopes, scope) {
		return true
	}
	return slices.Contains(readScopes, scope) && slices.Contains(c.Scopes, ScopeReadAll)
}

// Token errors.
var (
	errTokenMissing = errors.New("no bearer token")
	errTokenForged  = errors.New("bearer token is malformed or its signature is wrong")
	errTokenExpired = errors.New("bearer token expired")
)

// tokens signs and checks access tokens: base64url(JSON claims) "."
// base64url(HMAC-SHA256(key, first part)).
type tokens struct {
	key []byte
	ttl time.Duration
}

func (t tokens) sign(c claims) string {
	body, _ := json.Marshal(c) // claims always marshal
	p := base64.RawURLEncoding.EncodeToString(body)
	return p + "." + base64.RawURLEncoding.EncodeToString(t.mac(p))
}

func (t tokens) mac(p string) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(p))
	return m.Sum(nil)
}

// check verifies a token at now.
func (t tokens) check(tok string, now time.Time) (claims, error) {
	if tok == "" {
		return claims{}, errTokenMissing
	}
	p, sig, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 4096 {
		return claims{}, errTokenForged
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, t.mac(p)) {
		return claims{}, errTokenForged
	}
	body, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return claims{}, errTokenForged
	}
	var c claims
	if err := json.Unmarshal(body, &c); err != nil || c.Client == "" {
		return claims{}, errTokenForged
	}
	if !now.Before(time.Unix(c.Expires, 0)) {
		return claims{}, errTokenExpired
	}
	return c, nil
}

// grant checks a client's credentials and the scopes it asks for
// (space-separated; empty asks for all of its role's).
func grant(clients map[string]client, req TokenRequest) (client, []string, error) {
	cl, ok := clients[req.ClientID]
	// Compare even for an unknown client so timing does not tell which
	// client ids exist.
	want := cl.secret
	if !ok {
		want = "\x00unknown"
	}
	if subtle.ConstantTimeCompare([]byte(req.ClientSecret), []byte(want)) != 1 || !ok {
		return client{}, nil, errBadCredentials
	}
	allowed := roleScopes[cl.role]
	if strings.TrimSpace(req.Scope) == "" {
		return cl, slices.Clone(allowed), nil
	}
	var out []string
	for s := range strings.FieldsSeq(req.Scope) {
		if !slices.Contains(allowed, s) {
			return client{}, nil, &scopeError{scope: s, role: cl.role}
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return cl, out, nil
}

var errBadCredentials = errors.New("unknown client or wrong secret")

type scopeError struct {
	scope string
	role  Role
}

func (e *scopeError) Error() string {
	return "scope " + e.scope + " is not one a " + string(e.role) + " client may hold"
}
