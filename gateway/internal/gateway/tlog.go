package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

// tlogClient is the part of the archive the log's static face reads.
type tlogClient interface {
	GetCheckpoint(ctx context.Context, in *archivev1.GetCheckpointRequest, opts ...grpc.CallOption) (*archivev1.GetCheckpointResponse, error)
	GetLogTile(ctx context.Context, in *archivev1.GetLogTileRequest, opts ...grpc.CallOption) (*archivev1.GetLogTileResponse, error)
}

// tlogHandler serves each region's sealed log read-only in the C2SP
// tlog-tiles layout under /tlog/<region>/ (docs/ARCHITECTURE.md, "Sealed
// log"), so a standard tlog client fetches the latest checkpoint and the
// hash tiles and verifies proofs itself. They hold hashes only and need no
// token. Entry bundles are not served: leaves hold claimants' personal
// data; a dossier's leaf comes in its export bundle, to those who may read
// the dossier.
func tlogHandler(archive tlogClient, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tlog/{region}/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		cp, err := archive.GetCheckpoint(r.Context(), &archivev1.GetCheckpointRequest{Parent: "regions/" + r.PathValue("region")})
		if err != nil {
			tlogError(w, log, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write([]byte(cp.GetNote()))
	})
	mux.HandleFunc("GET /tlog/{region}/tile/{path...}", func(w http.ResponseWriter, r *http.Request) {
		p := r.PathValue("path")
		if strings.HasPrefix(p, "entries/") {
			http.Error(w, "entry bundles are not served: leaves hold personal data; export the dossier instead", http.StatusNotFound)
			return
		}
		level, index, width, err := parseTilePath(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		tile, err := archive.GetLogTile(r.Context(), &archivev1.GetLogTileRequest{
			Parent: "regions/" + r.PathValue("region"), Level: int32(level), Index: int64(index), Width: int32(width)})
		if err != nil {
			tlogError(w, log, err)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		// A tile at a path never changes: tiles only grow, into new paths.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Write(tile.GetData())
	})
	return mux
}

func tlogError(w http.ResponseWriter, log *slog.Logger, err error) {
	switch status.Code(err) {
	case codes.NotFound, codes.InvalidArgument:
		http.Error(w, "not found", http.StatusNotFound)
	case codes.Unavailable, codes.DeadlineExceeded:
		http.Error(w, "backend unavailable, retry", http.StatusServiceUnavailable)
	default:
		log.Warn("tlog request failed", "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// parseTilePath parses "<L>/<N>[.p/<W>]" of a tlog-tiles hash tile path,
// N written in 3-digit groups, all but the last prefixed with "x".
func parseTilePath(p string) (level, index uint64, width uint8, err error) {
	bad := fmt.Errorf("not a tile path: %q", p)
	elems := strings.Split(p, "/")
	if len(elems) < 2 || len(elems) > 10 {
		return 0, 0, 0, bad
	}
	level, err = strconv.ParseUint(elems[0], 10, 6)
	if err != nil || elems[0] != strconv.FormatUint(level, 10) {
		return 0, 0, 0, bad
	}
	elems = elems[1:]
	if n := len(elems); n >= 2 && strings.HasSuffix(elems[n-2], ".p") {
		w, err := strconv.ParseUint(elems[n-1], 10, 8)
		if err != nil || w == 0 || elems[n-1] != strconv.FormatUint(w, 10) {
			return 0, 0, 0, bad
		}
		width = uint8(w)
		elems[n-2] = strings.TrimSuffix(elems[n-2], ".p")
		elems = elems[:n-1]
	}
	var digits strings.Builder
	for i, e := range elems {
		if i < len(elems)-1 {
			if !strings.HasPrefix(e, "x") {
				return 0, 0, 0, bad
			}
			e = e[1:]
		}
		if len(e) != 3 || strings.Trim(e, "0123456789") != "" {
			return 0, 0, 0, bad
		}
		digits.WriteString(e)
	}
	index, err = strconv.ParseUint(digits.String(), 10, 64)
	if err != nil {
		return 0, 0, 0, bad
	}
	return level, index, width, nil
}
