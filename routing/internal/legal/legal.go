// Package legal writes a region's legal data (regionconfig.LegalSpec,
// watched live from etcd) into a written reply when it is recorded: the
// name the letter is issued under and, per remedy, where the claimant
// applies (the reconsideration body of the issuing unit's acts, the
// competent court). Written into the reply, the names stay those in force
// when the letter was issued.
package legal

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// Source holds every region's legal data as etcd has it.
type Source struct {
	Watcher *regionconfig.Watcher[*configv1.LegalInfo]
}

// New returns a source on cli; run Watcher.Run to fill it.
func New(cli *clientv3.Client, log *slog.Logger, reg prometheus.Registerer) *Source {
	return &Source{Watcher: regionconfig.NewWatcher(cli, regionconfig.LegalSpec, log, reg)}
}

// Run watches etcd until ctx ends.
func (s *Source) Run(ctx context.Context) error { return s.Watcher.Run(ctx) }

// Fill writes region's legal data into r, a reply issued on behalf of
// unit (the holder: the unit replying, or the office's host unit for the
// office and the platform). A nil source or a region without data leaves
// the names empty and the printed letter words them generally.
func (s *Source) Fill(r *tracker.Reply, region, unit string) {
	if s == nil || r == nil {
		return
	}
	l, ok := s.Watcher.Get(region, "")
	if !ok {
		return
	}
	Apply(l, r, unit)
}

// Apply writes l into r for a reply issued on behalf of unit.
func Apply(l *configv1.LegalInfo, r *tracker.Reply, unit string) {
	switch r.Issuer {
	case tracker.IssuerOffice:
		r.IssuerName = l.GetOfficeName()
	case tracker.IssuerPlatform:
		r.IssuerName = l.GetPlatformName()
	}
	for i := range r.Remedies {
		d := &r.Remedies[i]
		switch d.Remedy {
		case typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION:
			d.Authority = regionconfig.ReconsiderationBody(l, unit)
		case typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION:
			d.Authority = l.GetCourt()
		case typesv1.Remedy_REMEDY_REVIEW_REQUEST:
			d.Authority = l.GetReviewBody()
		case typesv1.Remedy_REMEDY_ARBITRATION:
			d.Authority = l.GetArbitrationBody()
		case typesv1.Remedy_REMEDY_MEDIATION:
			d.Authority = l.GetPlatformName()
		}
	}
}
