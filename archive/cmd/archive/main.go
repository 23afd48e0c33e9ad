// Command archive serves archive.v1.ArchiveService: the dossier of every
// dispute, filed from the events of intake, routing and meeting, and the
// sealed log of closed dossiers.
//
// Besides the shared flags it reads, from the environment:
//
//	ARCHIVE_DATA_DIR     directory of the sealed log, one file per region
//	                     (default ./var/archive); it must outlive Redis.
//	ARCHIVE_SIGNING_KEY  PEM Ed25519 private key (PKCS#8) that signs the
//	                     checkpoints; without it an ephemeral key is used
//	                     and checkpoints do not verify across restarts.
//	ARCHIVE_SEAL_QUIET   how long a closed dossier goes without a new event
//	                     before it is sealed (default 10s), so the last
//	                     events of other services still go in.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/xiaoyi-disputes/disputes/archive/internal/feed"
	"github.com/xiaoyi-disputes/disputes/archive/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealing"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/server"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

// Environment variables of the sealed log.
const (
	DataDirEnv    = "ARCHIVE_DATA_DIR"
	SigningKeyEnv = "ARCHIVE_SIGNING_KEY"
	SealQuietEnv  = "ARCHIVE_SEAL_QUIET"
)

func main() {
	app.Main(app.Service{Name: "archive", GRPCAddr: ":9104", AdminAddr: ":9204", Policy: grpcapi.Policy, Setup: setup})
}

func setup(_ context.Context, d *app.Deps) ([]func(context.Context) error, error) {
	quiet, err := server.EnvDuration(SealQuietEnv, sealing.DefaultQuiet)
	if err != nil {
		return nil, err
	}
	if quiet < 0 {
		return nil, fmt.Errorf("env %s: must not be negative", SealQuietEnv)
	}
	var key ed25519.PrivateKey
	if path := os.Getenv(SigningKeyEnv); path != "" {
		if key, err = authn.LoadPrivateKey(path); err != nil {
			return nil, fmt.Errorf("checkpoint signing key: %w", err)
		}
	} else {
		if _, key, err = ed25519.GenerateKey(rand.Reader); err != nil {
			return nil, fmt.Errorf("checkpoint signing key: %w", err)
		}
		d.Log.Warn("no checkpoint signing key: using an ephemeral one; checkpoints will not verify after a restart", "env", SigningKeyEnv)
	}
	dir := server.EnvOr(DataDirEnv, "./var/archive")
	sealed, err := sealedlog.Open(dir, key, d.Log)
	if err != nil {
		return nil, fmt.Errorf("open sealed log %s: %w", dir, err)
	}
	d.Log.Info("sealed log open", "dir", dir, "regions", sealed.Regions(), "seal_quiet", quiet.String())

	st := store.New(d.Redis)
	st.Now = d.Now
	archivev1.RegisterArchiveServiceServer(d.Server.GRPC(), grpcapi.New(st, sealed, d.Log))
	sealer := &sealing.Sealer{Store: st, Log: sealed, Quiet: quiet, Interval: time.Second,
		Regions: d.Roster.Regions, Now: d.Now, Logger: d.Log}
	host, _ := os.Hostname()
	f := &feed.Feed{Store: st, Sealer: sealer}
	c := &events.Consumer{
		Redis: d.Redis, Group: feed.Group, Name: host + "-" + strconv.Itoa(os.Getpid()),
		Streams: func() []string { return feed.Streams(d.Roster.Regions()) },
		Handle:  f.Handle, Log: d.Log, Registerer: d.Server.Registry(),
	}
	return []func(context.Context) error{c.Run, sealer.Run}, nil
}
