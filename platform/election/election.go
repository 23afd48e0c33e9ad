// Package election runs a piece of work on one replica at a time, elected
// through etcd (docs/ARCHITECTURE.md, "Scale"): routing's deadline scanner
// and the archive's sealed-log writer. Every replica campaigns under one
// prefix with a lease of TTL seconds; the one elected runs Lead until its
// session ends (etcd unreachable past the TTL, the lease revoked) or the
// process stops, then resigns so another takes over at once. A replica
// that dies loses its lease within the TTL.
package election

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Campaign is one replica's part in an election.
type Campaign struct {
	Etcd *clientv3.Client
	// Prefix is the etcd prefix campaigned on; ID names this replica.
	Prefix, ID string
	// TTL is the session's lease, in seconds: the failover time after the
	// leader dies.
	TTL int
	// What names the work in log lines ("deadline scanner").
	What string
	Log  *slog.Logger
	// Leading, when set, is 1 while this replica leads.
	Leading prometheus.Gauge
	// Wait, when set, runs while this replica does not lead (without a
	// session, or campaigning) until its ctx ends.
	Wait func(ctx context.Context)
	// Lead runs while this replica leads. Its ctx ends when the session
	// ends or Run's ctx does; sess and el serve to fence its writes.
	Lead func(ctx context.Context, sess *concurrency.Session, el *concurrency.Election)
}

// Run campaigns, and leads when elected, until ctx is done.
func (c *Campaign) Run(ctx context.Context) {
	for ctx.Err() == nil {
		sess, err := concurrency.NewSession(c.Etcd, concurrency.WithTTL(c.TTL), concurrency.WithContext(ctx))
		if err != nil {
			if ctx.Err() == nil {
				c.Log.Warn(c.What+": no etcd session; retrying", "error", err)
			}
			c.waitFor(ctx, 500*time.Millisecond)
			continue
		}
		el := concurrency.NewElection(sess, c.Prefix)
		if c.campaign(ctx, sess, el) {
			c.lead(ctx, sess, el)
			// Hand over at once when shutting down or stepping down; when
			// etcd cannot be reached the lease simply expires.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			if err := el.Resign(rctx); err != nil && ctx.Err() == nil {
				c.Log.Warn(c.What+": resign failed", "error", err)
			}
			cancel()
		}
		sess.Close()
	}
}

// waitFor runs Wait (or sleeps) for d or until ctx ends.
func (c *Campaign) waitFor(ctx context.Context, d time.Duration) {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if c.Wait != nil {
		c.Wait(wctx)
	}
	<-wctx.Done()
}

// campaign blocks until this replica leads (true), or ctx ends or the
// session is lost (false), running Wait meanwhile.
func (c *Campaign) campaign(ctx context.Context, sess *concurrency.Session, el *concurrency.Election) bool {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if c.Wait != nil {
			go func() {
				select {
				case <-sess.Done():
					cancel()
				case <-cctx.Done():
				}
			}()
			c.Wait(cctx)
			return
		}
		select {
		case <-sess.Done():
			cancel()
		case <-cctx.Done():
		}
	}()
	err := el.Campaign(cctx, c.ID)
	won := err == nil && cctx.Err() == nil
	cancel()
	<-done
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		c.Log.Warn(c.What+": campaign failed", "error", err)
	}
	return won
}

// lead runs Lead with a ctx that ends with the session.
func (c *Campaign) lead(ctx context.Context, sess *concurrency.Session, el *concurrency.Election) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sess.Done():
			c.Log.Warn(c.What + ": etcd session lost; stepping down")
			cancel()
		case <-lctx.Done():
		}
	}()
	if c.Leading != nil {
		c.Leading.Set(1)
		defer c.Leading.Set(0)
	}
	c.Log.Info(c.What+": leading", "replica", c.ID)
	c.Lead(lctx, sess, el)
	c.Log.Info(c.What+": no longer leading", "replica", c.ID)
}
