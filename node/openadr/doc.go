// Package openadr is an OpenADR 3.1.0 VTN (Virtual Top Node): the server a
// utility's business logic (BL) and its customers' VENs talk to, served by
// the node under /openadr3/3.1.0/.
//
// It implements the specification's REST API (spec/openadr3.yaml, a copy
// of the OpenADR Alliance's OpenAPI definition, Apache-2.0): programs,
// events, reports, vens, resources and subscriptions with webhook
// notifications, and an OAuth2 client-credentials token endpoint whose
// scopes are the specification's (auth.go has the role matrix).
//
// Every request body is decoded strictly (unknown fields and wrong types
// are refused) and then checked against the specification's schema with
// kin-openapi, so what is stored is what the specification allows.
// Objects live in memory and are written through to a Store (the node's
// badger store), so they survive a restart.
//
// An event whose intervals carry IMPORT_CAPACITY_LIMIT,
// EXPORT_CAPACITY_LIMIT, DISPATCH_SETPOINT or SIMPLE payloads becomes one
// flexibility request of the market per interval (market.go documents the
// mapping); the VTN records what it published as a report on the event.
// Once the market has verified the awards' delivery (Deliveries: the
// node adapts node/market/mv), the VTN writes a second report on the
// event with the awards, BASELINE, USAGE and DELTA_USAGE, reading types
// and DATA_QUALITY (delivery.go documents the layout).
//
// VENClient is the other side: the node as a VEN of an external VTN,
// mapping that VTN's events the same way and reporting back, requests
// and then delivery.
//
// Not built: the MQTT notifier binding; delivery reports aggregate the
// node's whole market (one AGGREGATED_REPORT resource), not per VEN or
// resource.
package openadr
