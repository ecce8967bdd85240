package openadr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// MaxBody bounds a request body, bytes. The largest object the store
// keeps is 256 KiB; an OpenADR object is a few KiB.
const MaxBody = 128 << 10

// ErrBadBody is wrapped by every decoder error: the body is not an
// object the specification allows.
var ErrBadBody = errors.New("bad request body")

// decodeStrict decodes body into dst refusing unknown fields, wrong
// types and trailing data, then validates it against the named schema of
// the specification.
func decodeStrict(body []byte, schemaName string, dst any) error {
	if len(body) > MaxBody {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrBadBody, len(body), MaxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("%w: %v", ErrBadBody, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the JSON object", ErrBadBody)
	}
	var generic any
	if err := json.Unmarshal(body, &generic); err != nil {
		return fmt.Errorf("%w: %v", ErrBadBody, err)
	}
	if _, ok := generic.(map[string]any); !ok {
		return fmt.Errorf("%w: want a JSON object", ErrBadBody)
	}
	// encoding/json matches names regardless of case, so without this
	// "intervAlPeriod" would be decoded as intervalPeriod while the schema
	// check saw an unknown (allowed) member and skipped its content.
	if err := exactNames(generic, reflect.TypeOf(dst), ""); err != nil {
		return fmt.Errorf("%w: %v", ErrBadBody, err)
	}
	if err := visit(schemaName, generic); err != nil {
		return fmt.Errorf("%w: %s", ErrBadBody, schemaReason(err))
	}
	return nil
}

// exactNames checks that every member name of v is, exactly, the JSON
// name of a field of t (recursively).
func exactNames(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil // the typed decode already refused a non-object
		}
		fields := map[string]reflect.Type{}
		collectFields(t, fields)
		for k, sub := range m {
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("%s/%s: unknown member", path, k)
			}
			if err := exactNames(sub, ft, path+"/"+k); err != nil {
				return err
			}
		}
	case reflect.Slice:
		a, _ := v.([]any)
		for i, sub := range a {
			if err := exactNames(sub, t.Elem(), fmt.Sprintf("%s/%d", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func collectFields(t reflect.Type, out map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && name == "":
			collectFields(f.Type, out)
		case name == "-" || !f.IsExported():
		case name == "":
			out[f.Name] = f.Type
		default:
			out[name] = f.Type
		}
	}
}

// schemaReason shortens kin-openapi's error (which quotes the whole
// schema) to where and why.
func schemaReason(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		p := "/" + strings.Join(se.JSONPointer(), "/")
		return fmt.Sprintf("%s: %s", p, se.Reason)
	}
	var me openapi3.MultiError
	if errors.As(err, &me) && len(me) > 0 {
		return schemaReason(me[0])
	}
	return err.Error()
}

// DecodeProgram decodes a programRequest.
func DecodeProgram(body []byte) (Program, error) {
	var p Program
	err := decodeStrict(body, "programRequest", &p)
	p.Meta = Meta{}
	return p, err
}

// DecodeEvent decodes an eventRequest.
func DecodeEvent(body []byte) (Event, error) {
	var e Event
	err := decodeStrict(body, "eventRequest", &e)
	e.Meta = Meta{}
	return e, err
}

// DecodeReport decodes a reportRequest. A clientID in the body is
// ignored: the VTN sets it from the token.
func DecodeReport(body []byte) (Report, error) {
	var r Report
	err := decodeStrict(body, "reportRequest", &r)
	r.Meta, r.ClientID = Meta{}, ""
	return r, err
}

// DecodeSubscription decodes a subscriptionRequest. A clientID in the
// body is ignored: the VTN sets it from the token.
func DecodeSubscription(body []byte) (Subscription, error) {
	var s Subscription
	err := decodeStrict(body, "subscriptionRequest", &s)
	s.Meta, s.ClientID = Meta{}, ""
	return s, err
}

// Request object types of vens and resources: who may set what depends
// on them (auth.go).
const (
	BlVenRequest       = "BL_VEN_REQUEST"
	VenVenRequest      = "VEN_VEN_REQUEST"
	BlResourceRequest  = "BL_RESOURCE_REQUEST"
	VenResourceRequest = "VEN_RESOURCE_REQUEST"
)

// DecodeVen decodes a venRequest; ObjectType tells which kind it is.
func DecodeVen(body []byte) (Ven, error) {
	var v Ven
	err := decodeStrict(body, "venRequest", &v)
	v.ID, v.CreatedDateTime, v.ModificationDateTime = "", "", ""
	return v, err
}

// DecodeResource decodes a resourceRequest; ObjectType tells which kind
// it is.
func DecodeResource(body []byte) (Resource, error) {
	var r Resource
	err := decodeStrict(body, "resourceRequest", &r)
	r.ID, r.CreatedDateTime, r.ModificationDateTime = "", "", ""
	return r, err
}

// TokenRequest is a client-credentials token request.
type TokenRequest struct {
	GrantType    string
	ClientID     string
	ClientSecret string
	Scope        string
}

// DecodeTokenRequest decodes an application/x-www-form-urlencoded
// clientCredentialRequest. Unknown or repeated parameters are refused.
func DecodeTokenRequest(body []byte) (TokenRequest, error) {
	if len(body) > MaxBody {
		return TokenRequest{}, fmt.Errorf("%w: %d bytes, at most %d", ErrBadBody, len(body), MaxBody)
	}
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return TokenRequest{}, fmt.Errorf("%w: %v", ErrBadBody, err)
	}
	generic := map[string]any{}
	for k, vs := range q {
		switch k {
		case "grant_type", "client_id", "client_secret", "scope":
		default:
			return TokenRequest{}, fmt.Errorf("%w: unknown parameter %q", ErrBadBody, k)
		}
		if len(vs) != 1 {
			return TokenRequest{}, fmt.Errorf("%w: parameter %q given %d times", ErrBadBody, k, len(vs))
		}
		generic[k] = vs[0]
	}
	if err := visit("clientCredentialRequest", generic); err != nil {
		return TokenRequest{}, fmt.Errorf("%w: %s", ErrBadBody, schemaReason(err))
	}
	return TokenRequest{GrantType: q.Get("grant_type"), ClientID: q.Get("client_id"), ClientSecret: q.Get("client_secret"), Scope: q.Get("scope")}, nil
}
