package grpcapi

import (
	"encoding/base64"
	"encoding/json"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
)

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// pageToken is what a next_page_token of the meeting service's lists
// carries: the query it continues (its parent and filters, as one string)
// and the id the previous page ended at.
type pageToken struct {
	Query string `json:"q"`
	After string `json:"a"`
}

func (p pageToken) encode() string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

// readPage parses a list request's page token and size for query; it
// returns the id to continue after and the page size.
func readPage(token string, size int32, query string) (string, int, error) {
	n := int(size)
	if n <= 0 {
		n = defaultPageSize
	}
	n = min(n, maxPageSize)
	if token == "" {
		return "", n, nil
	}
	var p pageToken
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || json.Unmarshal(raw, &p) != nil || p.After == "" {
		return "", 0, &office.ValidationError{Violations: []office.Violation{{Field: "page_token", Reason: "is not a token this service issued"}}}
	}
	if p.Query != query {
		return "", 0, &office.ValidationError{Violations: []office.Violation{{Field: "page_token",
			Reason: "was issued for another parent or other filters; start again without it"}}}
	}
	return p.After, n, nil
}

// nextToken is the next_page_token continuing query after the id next ("":
// the last page).
func nextToken(query, next string) string {
	if next == "" {
		return ""
	}
	return pageToken{Query: query, After: next}.encode()
}
