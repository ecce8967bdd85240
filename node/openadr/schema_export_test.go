package openadr_test

import (
	"encoding/json"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/gridmint/gridmint/node/openadr"
)

// validate checks v, as JSON, against a schema of the specification.
func validate(schema string, v any) error {
	doc, err := openapi3.NewLoader().LoadFromData(openadr.SpecYAML())
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return err
	}
	return doc.Components.Schemas[schema].Value.VisitJSON(generic, openapi3.SetSchemaRegexCompiler(openadr.RegexCompiler))
}
