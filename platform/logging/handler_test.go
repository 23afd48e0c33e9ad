package logging

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"
)

// reference is the handler the fast path must match byte for byte.
func reference(w *bytes.Buffer) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: replace})
}

// both writes the record through the package's handler and the reference,
// set up alike by with, and returns both outputs.
func both(t *testing.T, with func(slog.Handler) slog.Handler, r slog.Record) (got, want string) {
	t.Helper()
	var gb, wb bytes.Buffer
	h := with(newHandler(&gb, slog.LevelDebug))
	ref := with(reference(&wb))
	if err := h.Handle(context.Background(), r.Clone()); err != nil {
		t.Fatalf("handle: %v", err)
	}
	if err := ref.Handle(context.Background(), r.Clone()); err != nil {
		t.Fatalf("reference handle: %v", err)
	}
	return gb.String(), wb.String()
}

func noWith(h slog.Handler) slog.Handler { return h }

func TestHandlerMatchesJSONHandler(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.FixedZone("CST", 8*3600))
	tests := []struct {
		name  string
		with  func(slog.Handler) slog.Handler
		time  time.Time
		level slog.Level
		msg   string
		attrs []slog.Attr
	}{
		{name: "access line", with: func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("service", "intake")})
		}, time: at, msg: "rpc", attrs: []slog.Attr{
			slog.String("method", "/disputes.intake.v1.IntakeService/RegisterDispute"),
			slog.String("code", "OK"), slog.Float64("duration_ms", 1.234),
			slog.String("region", "141181"), slog.String("department", "hrss"),
			slog.String("staff", "s-1"), slog.String("parent", "regions/141181"),
			slog.String("error", "claimant 13812341234 exists"),
		}},
		{name: "no time", msg: "m", attrs: []slog.Attr{slog.Int("n", 1)}},
		{name: "utc time", time: at.UTC(), msg: "m"},
		{name: "levels", time: at, level: slog.LevelError + 2, msg: "m"},
		{name: "level with digits", time: at, level: slog.Level(13812341234), msg: "m"},
		{name: "message masked", time: at, msg: "call 13812341234 or 14230119900101123X"},
		{name: "kinds", time: at, msg: "m", attrs: []slog.Attr{
			slog.Int64("i", -42), slog.Uint64("u", math.MaxUint64), slog.Bool("b", true),
			slog.Duration("d", 1500*time.Millisecond), slog.Time("t", at), slog.Any("int", 7),
			slog.Float64("zero", 0), slog.Float64("neg zero", math.Copysign(0, -1)),
			slog.Float64("tiny", 1e-7), slog.Float64("small", 1e-6), slog.Float64("big", 1e21),
			slog.Float64("almost big", 1e20), slog.Float64("frac", 0.1), slog.Float64("neg", -123456.789),
			slog.Float64("max", math.MaxFloat64), slog.Float64("min", math.SmallestNonzeroFloat64),
		}},
		{name: "keys", time: at, msg: "m", attrs: []slog.Attr{
			slog.String("durationMs", "1"), slog.String("HTTPStatus", "2"), slog.String("grpc-code", "3"),
			slog.String("with space", "4"), slog.String("Ärger", "5"), slog.String(`quote"key`, "6"),
		}},
		{name: "escapes", time: at, msg: "line\nbreak\t\"q\" \\ <a&b> \x01\x1f\x7f", attrs: []slog.Attr{
			slog.String("bad utf8", "a\xffb\xc3"), slog.String("separators", "a\u2028b\u2029c"),
			slog.String("chinese", "社会保险费征缴争议"), slog.String("emoji", "ok 👍"),
		}},
		{name: "duplicate keys", time: at, msg: "m", attrs: []slog.Attr{slog.String("a", "1"), slog.String("a", "2")}},
		{name: "phones in attrs", time: at, msg: "m", attrs: []slog.Attr{
			slog.String("phone", "13812341234"), slog.String("id", "14230119900101123X"),
			slog.String("account", "6222021234567890123"),
		}},
		{name: "with attrs of every kind", with: func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("service", "x"), slog.Int("shard", 3)}).
				WithAttrs([]slog.Attr{slog.String("phone", "13812341234"), slog.Float64("f", 2.5)})
		}, time: at, msg: "m", attrs: []slog.Attr{slog.String("a", "b")}},
		// From here on the fast path hands the record to JSONHandler.
		{name: "error attr", time: at, msg: "m", attrs: []slog.Attr{
			slog.String("a", "b"), slog.Any("err", errors.New("dup 13812341234")),
		}},
		{name: "struct attr", time: at, msg: "m", attrs: []slog.Attr{slog.Any("p", struct{ Phone string }{"13812341234"})}},
		{name: "group attr", time: at, msg: "m", attrs: []slog.Attr{slog.Group("req", "phone", "13812341234", "n", 1)}},
		{name: "inline group", time: at, msg: "m", attrs: []slog.Attr{slog.Group("", "phone", "13812341234")}},
		{name: "empty attr", time: at, msg: "m", attrs: []slog.Attr{{}, slog.String("a", "b")}},
		{name: "empty key", time: at, msg: "m", attrs: []slog.Attr{slog.String("", "13812341234")}},
		{name: "other numbers masked", time: at, msg: "单位91350100M000100Y43 电话0358-7654321 旧证142301900101123",
			attrs: []slog.Attr{slog.String("tel", "03587654321")}},
		{name: "nan", time: at, msg: "m", attrs: []slog.Attr{slog.Float64("f", math.NaN()), slog.Float64("g", math.Inf(-1))}},
		{name: "year out of range", time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), msg: "m",
			attrs: []slog.Attr{slog.Time("t", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC))}},
		{name: "log valuer", time: at, msg: "m", attrs: []slog.Attr{slog.Any("v", phoneValuer("13812341234"))}},
		{name: "with group", with: func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("service", "x")}).WithGroup("g").
				WithAttrs([]slog.Attr{slog.String("phone", "13812341234")})
		}, time: at, msg: "m", attrs: []slog.Attr{slog.String("id", "14230119900101123X")}},
		{name: "with group, no attrs", with: func(h slog.Handler) slog.Handler { return h.WithGroup("g") }, time: at, msg: "m"},
		{name: "with empty group name", with: func(h slog.Handler) slog.Handler {
			return h.WithGroup("").WithAttrs([]slog.Attr{slog.String("phone", "13812341234")})
		}, time: at, msg: "m"},
		{name: "with error attr", with: func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.Any("err", errors.New("dup 13812341234"))})
		}, time: at, msg: "m", attrs: []slog.Attr{slog.String("phone", "13812341234")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			with := tt.with
			if with == nil {
				with = noWith
			}
			r := slog.NewRecord(tt.time, tt.level, tt.msg, 0)
			r.AddAttrs(tt.attrs...)
			got, want := both(t, with, r)
			if got != want {
				t.Fatalf("output differs from JSONHandler\n got: %s\nwant: %s", got, want)
			}
			for _, full := range []string{"13812341234", "14230119900101123X", "91350100M000100Y43", "7654321", "142301900101123"} {
				if strings.Contains(got, full) {
					t.Fatalf("full number %s leaked: %s", full, got)
				}
			}
		})
	}
}

type phoneValuer string

func (p phoneValuer) LogValue() slog.Value { return slog.StringValue("tel " + string(p)) }

// FuzzHandlerMatchesJSONHandler checks the fast path against JSONHandler
// for arbitrary keys, strings and numbers.
func FuzzHandlerMatchesJSONHandler(f *testing.F) {
	f.Add("msg", "key", "value", int64(1), 1.5, int64(0))
	f.Add("call 13812341234", "phoneNumber", "138-1234-1234", int64(-7), 1e-9, int64(1700000000123456789))
	f.Add("\x00\u2028\xff", "a\"b\\", "<&>\n", int64(math.MinInt64), -0.0, int64(-1))
	f.Fuzz(func(t *testing.T, msg, key, val string, i int64, fl float64, unixNano int64) {
		r := slog.NewRecord(time.Unix(0, unixNano).In(time.FixedZone("", -5*3600)), slog.LevelInfo, msg, 0)
		r.AddAttrs(slog.String(key, val), slog.Int64(key+"I", i), slog.Float64("f", fl),
			slog.Time("t", time.Unix(0, unixNano^i)))
		with := func(h slog.Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.String(val, key)}) }
		if got, want := both(t, with, r); got != want {
			t.Fatalf("output differs from JSONHandler\n got: %s\nwant: %s", got, want)
		}
	})
}
