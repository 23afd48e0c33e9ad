// Package logging builds the structured logger every service uses: JSON
// lines, snake_case keys, and every string value passed through mask.String
// so no full phone or ID number reaches a log line, whoever wrote the call.
package logging

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xiaoyi-disputes/disputes/platform/mask"
)

// New returns a JSON logger writing to w at level ("debug", "info", "warn",
// "error"; empty means info) with a service attribute on every line.
//
// Each line is one Write call on w; calls are serialized, so w need not be
// safe for concurrent use.
func New(w io.Writer, service, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if level != "" {
		if err := lvl.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("log level %q: %w", level, err)
		}
	}
	return slog.New(newHandler(w, lvl)).With(slog.String("service", service)), nil
}

// replace is the handler's ReplaceAttr: snake_case keys, masked strings.
// The fast path of handler applies the same rules to the kinds it formats
// itself; everything else goes through here.
func replace(_ []string, a slog.Attr) slog.Attr {
	a.Key = snake(a.Key)
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(mask.String(a.Value.String()))
	case slog.KindAny:
		a.Value = maskAny(a.Value.Any())
	}
	return a
}

// maskAny masks values the handler would otherwise print verbatim: errors,
// Stringers, and anything it would marshal to JSON.
func maskAny(v any) slog.Value {
	switch v := v.(type) {
	case error:
		return slog.StringValue(mask.String(v.Error()))
	case fmt.Stringer:
		return slog.StringValue(mask.String(v.String()))
	case nil:
		return slog.AnyValue(nil)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return slog.StringValue(mask.String(fmt.Sprintf("%+v", v)))
	}
	if m := mask.String(string(b)); m != string(b) {
		return slog.AnyValue(json.RawMessage(m))
	}
	return slog.AnyValue(v)
}

// snake turns "durationMs" or "DurationMS" into "duration_ms" so keys are
// uniform whatever the caller wrote.
func snake(key string) string {
	if isSnake(key) {
		return key
	}
	if !strings.ContainsFunc(key, func(r rune) bool { return unicode.IsUpper(r) || r == '-' || r == ' ' }) {
		return key
	}
	var b strings.Builder
	rs := []rune(key)
	for i, r := range rs {
		switch {
		case r == '-' || r == ' ':
			b.WriteByte('_')
		case unicode.IsUpper(r):
			prevLower := i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]))
			nextLower := i > 0 && i+1 < len(rs) && unicode.IsUpper(rs[i-1]) && unicode.IsLower(rs[i+1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isSnake reports, for the common all-ASCII key, that snake leaves key as
// it is; keys with other runes take the full check.
func isSnake(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') || c == '-' || c == ' ' {
			return false
		}
	}
	return true
}
