package logging

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/xiaoyi-disputes/disputes/platform/mask"
)

// handler writes the same bytes as slog.JSONHandler with ReplaceAttr
// replace, but formats the common records itself: those whose attributes
// are all strings, numbers, booleans, durations and times, outside any
// group. The generic JSONHandler costs several microseconds a line (per-attr
// bookkeeping for groups and ReplaceAttr, floats through encoding/json);
// the access log writes one line per RPC.
//
// Everything else (groups, errors, structs, LogValuers, values the JSON
// encoder rejects) goes to the wrapped JSONHandler, so the output does not
// depend on which path wrote it. Both paths mask every string value.
type handler struct {
	out   io.Writer // safe for concurrent use, one line per Write
	level slog.Leveler
	// slow is the JSONHandler with the same attributes and groups.
	slow slog.Handler
	// fast is false once the handler has a group or an attribute the fast
	// path cannot format; then every record goes to slow.
	fast bool
	// pre holds the With attributes, formatted: `,"key":value...`.
	pre []byte
}

func newHandler(w io.Writer, level slog.Leveler) *handler {
	var out io.Writer = w
	if _, ok := w.(*Writer); !ok { // a Writer keeps lines whole itself
		out = &lockedWriter{w: w}
	}
	return &handler{
		out:   out,
		level: level,
		slow:  slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level, ReplaceAttr: replace}),
		fast:  true,
	}
}

// lockedWriter serializes the lines of both paths on a writer that is not
// safe for concurrent use.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Enabled reports whether level is at or above the handler's level.
func (h *handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.slow = h.slow.WithAttrs(attrs)
	if !h.fast {
		return &h2
	}
	pre := append([]byte(nil), h.pre...)
	for _, a := range attrs {
		var ok bool
		if pre, ok = appendAttr(pre, a); !ok {
			h2.fast, pre = false, nil
			break
		}
	}
	h2.pre = pre
	return &h2
}

// WithGroup returns a handler that nests later attributes under name.
func (h *handler) WithGroup(name string) slog.Handler {
	h2 := *h
	h2.slow = h.slow.WithGroup(name)
	h2.fast, h2.pre = false, nil
	return &h2
}

// maxBuf is the largest line buffer kept for reuse.
const maxBuf = 16 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Handle writes r as one JSON line.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if !h.fast {
		return h.slow.Handle(ctx, r)
	}
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxBuf {
			bufPool.Put(bp)
		}
	}()
	b, ok := appendRecord((*bp)[:0], r, h.pre)
	*bp = b
	if !ok {
		return h.slow.Handle(ctx, r)
	}
	_, err := h.out.Write(b)
	return err
}

// appendRecord formats r as JSONHandler does, reporting false when it
// meets something only JSONHandler formats.
func appendRecord(b []byte, r slog.Record, pre []byte) ([]byte, bool) {
	b = append(b, '{')
	if !r.Time.IsZero() {
		if !timeInRange(r.Time) {
			return b, false
		}
		b = append(b, `"time":`...)
		b = appendTime(b, r.Time)
		b = append(b, ',')
	}
	b = append(b, `"level":`...)
	b = appendString(b, mask.String(r.Level.String()))
	b = append(b, `,"msg":`...)
	b = appendString(b, mask.String(r.Message))
	b = append(b, pre...)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		b, ok = appendAttr(b, a)
		return ok
	})
	return append(b, '}', '\n'), ok
}

// appendAttr appends `,"key":value` for the kinds the fast path formats,
// applying replace's rules; it reports false for any other attribute.
func appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	if a.Key == "" {
		return b, false // empty attrs are elided, empty groups inlined: leave it to slog
	}
	v := a.Value
	switch v.Kind() {
	case slog.KindFloat64:
		if f := v.Float64(); math.IsInf(f, 0) || math.IsNaN(f) {
			return b, false
		}
	case slog.KindTime:
		if !timeInRange(v.Time()) {
			return b, false
		}
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindBool, slog.KindDuration:
	default:
		return b, false
	}
	b = append(b, ',')
	b = appendString(b, snake(a.Key))
	b = append(b, ':')
	switch v.Kind() {
	case slog.KindString:
		b = appendString(b, mask.String(v.String()))
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		b = appendFloat(b, v.Float64())
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		b = strconv.AppendInt(b, int64(v.Duration()), 10)
	case slog.KindTime:
		b = appendTime(b, v.Time())
	}
	return b, true
}

// timeInRange reports whether JSONHandler formats t without an error.
func timeInRange(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y < 10000
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendFloat formats f as encoding/json does (which JSONHandler calls for
// floats): like %g, with ES6 exponent cutoffs and exponents not padded.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendString appends s quoted and escaped as JSONHandler does: JSON
// escapes without HTML escaping, invalid UTF-8 as \ufffd, U+2028 and
// U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hex = "0123456789abcdef"
