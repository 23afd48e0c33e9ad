// Package service assembles the archive from its parts for app.Main: the
// sealed log on disk, the dossier store, the gRPC service, the consumer of
// every service's events and the sealer.
//
// Besides the shared flags it reads, from the environment:
//
//	ARCHIVE_DATA_DIR     directory of the sealed log, one transparency log
//	                     per region (default ./var/archive); it must outlive
//	                     Redis, and one archive process writes it at a time:
//	                     the replicas elect it through etcd
//	                     (archive/internal/writer); the others serve reads
//	                     from the directory, so each replica must see it
//	                     (docs/ARCHITECTURE.md, "Scale").
//	ARCHIVE_SIGNING_KEY  PEM Ed25519 private key (PKCS#8) of the note keys
//	                     that sign each region's checkpoints; without it an
//	                     ephemeral key is used and checkpoints do not
//	                     verify across restarts.
package service

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/xiaoyi-disputes/disputes/archive/internal/feed"
	"github.com/xiaoyi-disputes/disputes/archive/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealedlog"
	"github.com/xiaoyi-disputes/disputes/archive/internal/sealing"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/archive/internal/writer"
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
)

// Setup builds the archive from the process deps; it is the archive's
// app.Service.Setup.
func Setup(ctx context.Context, d *app.Deps) ([]func(context.Context) error, error) {
	var key ed25519.PrivateKey
	var err error
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
	// Every replica reads the log; the elected one writes it.
	sealed, err := sealedlog.OpenReader(dir, key, d.Log, sealedlog.Options{})
	if err != nil {
		return nil, fmt.Errorf("open sealed log %s: %w", dir, err)
	}
	d.Log.Info("sealed log open for reading", "dir", dir, "regions", sealed.Regions())
	for _, r := range sealed.Regions() {
		d.Log.Info("sealed log note key", "region", r, "verifier_key", sealed.VerifierKey(r))
	}

	st := store.New(d.Redis)
	st.Now = d.Now
	// Search and statistics read indexes and counters the consumer keeps;
	// dossiers filed before they existed are added once, before the
	// consumer starts, by one replica at a time (an etcd lock): the others
	// then find them built.
	if err := lockedEnsureDerived(ctx, st, d); err != nil {
		return nil, err
	}
	archivev1.RegisterArchiveServiceServer(d.Server.GRPC(), grpcapi.New(st, sealed, d.Log))
	sub := &events.Subscription{
		Redis: d.Redis, Group: feed.Group, Sources: feed.Sources, Regions: d.Roster.Regions,
		Default: feed.Handler(st), Log: d.Log, Registerer: d.Server.Registry(),
		// The statistics counters a batch moves are logged as one entry
		// and folded every second and before each statistics read.
		CounterLog: store.StatsLogKey,
	}
	d.Server.AddReadinessInfo("events", sub.ParkedInfo)
	// Every replica files events (the consumer group hands each entry to
	// one); only the elected writer of the sealed log seals.
	sealer := &sealing.Sealer{Store: st, Log: sealed, Redis: d.Redis, Group: feed.Group, Sources: feed.Sources,
		Interval: time.Second, Regions: d.Roster.Regions, Logger: d.Log}
	w := &writer.Writer{Etcd: d.Etcd, Log: sealed, Lead: sealer.Run, Logger: d.Log, ID: events.UniqueName()}
	if err := w.Register(d.Server.Registry()); err != nil {
		return nil, err
	}
	d.Server.AddReadinessInfo("sealed_log", func() string {
		if sealed.Writing() {
			return "writer"
		}
		return "standby"
	})
	return []func(context.Context) error{sub.Run, w.Run, foldStatistics(st, d)}, nil
}

// foldStatistics folds every region's logged counter deltas into the
// statistics counters once a second, in every replica (a fold is atomic,
// so replicas folding at once add each entry once).
func foldStatistics(st *store.Store, d *app.Deps) func(context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			for _, region := range d.Roster.Regions() {
				if err := st.FoldStatistics(ctx, region); err != nil && ctx.Err() == nil {
					d.Log.Warn("statistics: fold of the counter log failed; will retry", "region", region, "error", err)
				}
			}
		}
	}
}

// derivedLock is the etcd lock under which a replica builds the indexes.
const derivedLock = "/disputes/_locks/archive-derived"

// lockedEnsureDerived is ensureDerived under derivedLock.
func lockedEnsureDerived(ctx context.Context, st *store.Store, d *app.Deps) error {
	sess, err := concurrency.NewSession(d.Etcd, concurrency.WithTTL(10), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("archive indexes: etcd session: %w", err)
	}
	defer sess.Close()
	mu := concurrency.NewMutex(sess, derivedLock)
	lctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := mu.Lock(lctx); err != nil {
		return fmt.Errorf("archive indexes: lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = mu.Unlock(uctx)
	}()
	return ensureDerived(ctx, st, d)
}

// ensureDerived builds the indexes and counters of every region that has
// dossiers and lacks them (store.EnsureDerived).
func ensureDerived(ctx context.Context, st *store.Store, d *app.Deps) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	regions, err := st.Regions(ctx)
	if err != nil {
		return fmt.Errorf("archive indexes: %w", err)
	}
	for _, r := range regions {
		rebuilt, err := st.EnsureDerived(ctx, r)
		if err != nil {
			return fmt.Errorf("archive indexes of %s: %w", r, err)
		}
		if rebuilt {
			d.Log.Info("archive indexes and counters built", "region", r)
		}
	}
	return nil
}
