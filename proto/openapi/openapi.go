// Package openapi embeds the OpenAPI (Swagger 2.0) document generated from the
// platform's protos; the gateway serves it.
package openapi

import _ "embed"

// Document is the merged OpenAPI document of every HTTP-mapped RPC.
//
//go:embed disputes.swagger.json
var Document []byte
