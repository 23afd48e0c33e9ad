package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

func TestParseTilePath(t *testing.T) {
	tests := []struct {
		path         string
		level, index uint64
		width        uint8
		ok           bool
	}{
		{"0/000", 0, 0, 0, true},
		{"0/001.p/5", 0, 1, 5, true},
		{"1/x001/x234/067", 1, 1234067, 0, true},
		{"2/x001/002.p/255", 2, 1002, 255, true},
		{"0/1", 0, 0, 0, false},
		{"0/x001", 0, 0, 0, false},
		{"0/001/002", 0, 0, 0, false},
		{"0/001.p/0", 0, 0, 0, false},
		{"0/001.p/256", 0, 0, 0, false},
		{"64/000", 0, 0, 0, false},
		{"00/000", 0, 0, 0, false},
		{"0/../000", 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			l, i, w, err := parseTilePath(tt.path)
			if (err == nil) != tt.ok || (tt.ok && (l != tt.level || i != tt.index || w != tt.width)) {
				t.Fatalf("parseTilePath = %d %d %d %v", l, i, w, err)
			}
		})
	}
}

type fakeTlog struct{ got *archivev1.GetLogTileRequest }

func (f *fakeTlog) GetCheckpoint(_ context.Context, in *archivev1.GetCheckpointRequest, _ ...grpc.CallOption) (*archivev1.GetCheckpointResponse, error) {
	if in.GetParent() != "regions/141181" {
		return nil, status.Error(codes.InvalidArgument, "bad parent")
	}
	return &archivev1.GetCheckpointResponse{Note: "origin\n1\nroot\n\n— sig\n"}, nil
}

func (f *fakeTlog) GetLogTile(_ context.Context, in *archivev1.GetLogTileRequest, _ ...grpc.CallOption) (*archivev1.GetLogTileResponse, error) {
	f.got = in
	if in.GetIndex() > 0 {
		return nil, status.Error(codes.NotFound, "no such tile")
	}
	return &archivev1.GetLogTileResponse{Data: []byte("hashes")}, nil
}

func TestTlogHandler(t *testing.T) {
	f := &fakeTlog{}
	h := tlogHandler(f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get("/tlog/141181/checkpoint"); code != 200 || body != "origin\n1\nroot\n\n— sig\n" {
		t.Fatalf("checkpoint: %d %q", code, body)
	}
	if code, _ := get("/tlog/999/checkpoint"); code != 404 {
		t.Fatalf("checkpoint of a bad region: %d", code)
	}
	if code, body := get("/tlog/141181/tile/0/000.p/7"); code != 200 || body != "hashes" || f.got.GetWidth() != 7 || f.got.GetParent() != "regions/141181" {
		t.Fatalf("tile: %d %q %v", code, body, f.got)
	}
	if code, _ := get("/tlog/141181/tile/0/001"); code != 404 {
		t.Fatalf("missing tile: %d", code)
	}
	if code, _ := get("/tlog/141181/tile/entries/000"); code != 404 {
		t.Fatalf("entries: %d", code)
	}
}
