package openadr

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// specYAML is the OpenADR 3.1.0 OpenAPI definition (spec/README.md says
// where it comes from; Apache-2.0, spec/LICENSE and spec/NOTICE).
//
//go:embed spec/openadr3.yaml
var specYAML []byte

// SpecYAML returns the OpenAPI definition the VTN implements.
func SpecYAML() []byte { return specYAML }

// Spec loads the specification once. It does not call the document's own
// Validate: 3.1.0 carries an invalid default (BlVenRequest.targets has the
// string "null          -" as default), which a strict check refuses
// although it changes nothing about what a body may contain.
var Spec = sync.OnceValues(func() (*openapi3.T, error) {
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(specYAML)
	if err != nil {
		return nil, fmt.Errorf("openadr: load spec: %w", err)
	}
	if err := l.ResolveRefsIn(doc, nil); err != nil {
		return nil, fmt.Errorf("openadr: resolve spec: %w", err)
	}
	return doc, nil
})

// lookahead is the only part of the specification's patterns Go's regexp
// (RE2) cannot compile: the duration pattern's "(?=\d|T\d)", which says
// the designators after P start with a digit or with T and a digit.
const lookahead = `(?=\d|T\d)`

// lookaheadMatcher matches the pattern with the lookahead removed and
// checks the lookahead itself after the "P".
type lookaheadMatcher struct{ re *regexp.Regexp }

func (m lookaheadMatcher) MatchString(s string) bool {
	if !m.re.MatchString(s) {
		return false
	}
	i := strings.IndexByte(s, 'P')
	if i < 0 {
		return false
	}
	rest := s[i+1:]
	isDigit := func(b byte) bool { return b >= '0' && b <= '9' }
	return len(rest) > 0 && (isDigit(rest[0]) || len(rest) > 1 && rest[0] == 'T' && isDigit(rest[1]))
}

// RegexCompiler compiles the specification's patterns, including the
// duration pattern's lookahead (see lookahead). Validators of OpenADR
// bodies (this package's decoders and its tests) pass it to kin-openapi.
func RegexCompiler(expr string) (openapi3.RegexMatcher, error) {
	if strings.Contains(expr, lookahead) {
		re, err := regexp.Compile(strings.Replace(expr, lookahead, "", 1))
		if err != nil {
			return nil, err
		}
		return lookaheadMatcher{re}, nil
	}
	return regexp.Compile(expr)
}

// schema returns the named component schema of the specification.
func schema(name string) (*openapi3.Schema, error) {
	doc, err := Spec()
	if err != nil {
		return nil, err
	}
	ref := doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("openadr: spec has no schema %q", name)
	}
	return ref.Value, nil
}

// visit validates a JSON value (as encoding/json decodes into any)
// against the named schema.
func visit(name string, v any) error {
	s, err := schema(name)
	if err != nil {
		return err
	}
	return s.VisitJSON(v, openapi3.SetSchemaRegexCompiler(RegexCompiler))
}
