package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/rosterfeed"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/roster"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// etcdTimeout bounds each roster read or write.
const etcdTimeout = 5 * time.Second

// RosterServer implements rosterv1.RosterServiceServer: reads go to etcd for
// freshness and fall back to the watcher's last valid copy; writes are
// compare-and-swap on the etag and announced on the meeting stream.
type RosterServer struct {
	rosterv1.UnimplementedRosterServiceServer

	etcd    *clientv3.Client
	watcher *roster.Watcher
	feed    *rosterfeed.Feed
	log     *slog.Logger
}

// NewRosterServer returns the roster service over etcd, watcher (the
// fallback when etcd does not answer) and feed (announces changes).
func NewRosterServer(etcd *clientv3.Client, watcher *roster.Watcher, feed *rosterfeed.Feed, log *slog.Logger) *RosterServer {
	return &RosterServer{etcd: etcd, watcher: watcher, feed: feed, log: log}
}

// callerRegion checks that the caller acts in the region of the roster name.
func callerRegion(ctx context.Context, name, field string) (authn.Identity, string, error) {
	id, ok := authn.FromContext(ctx)
	if !ok {
		return id, "", apierr.New(codes.Unauthenticated, apierr.ReasonUnauthenticated, "no caller identity")
	}
	region, err := roster.RegionOf(name)
	if err != nil {
		return id, "", apierr.Invalid(apierr.Violation{Field: field, Reason: err.Error()})
	}
	if id.Region != region {
		return id, "", apierr.Newf(codes.PermissionDenied, ReasonRegionMismatch,
			"caller acts for region %s, not %s", id.Region, region)
	}
	return id, region, nil
}

// GetRoster returns the region's roster as etcd holds it now. When etcd
// does not answer, or holds a roster that fails validation, it answers from
// the watcher's last valid copy with stale set.
func (s *RosterServer) GetRoster(ctx context.Context, req *rosterv1.GetRosterRequest) (*rosterv1.GetRosterResponse, error) {
	_, region, err := callerRegion(ctx, req.GetName(), "name")
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, etcdTimeout)
	defer cancel()
	r, rev, err := roster.Load(lctx, s.etcd, region)
	switch {
	case err == nil:
		if vs := roster.ValidateStored(region, r); len(vs) > 0 {
			return s.fallback(region, rev, &roster.ValidationError{Violations: vs})
		}
		return &rosterv1.GetRosterResponse{Roster: r}, nil
	case errors.Is(err, roster.ErrNotFound):
		return nil, toStatus(err)
	case isInvalid(err):
		return s.fallback(region, rev, err)
	default:
		return s.fallback(region, 0, err)
	}
}

func isInvalid(err error) bool {
	_, ok := roster.Violations(err)
	return ok
}

// fallback answers from the watcher's copy. When etcd answered (rev > 0) but
// holds a bad roster, the copy carries the current revision as its etag, so
// an administrator can overwrite the bad value with a full update.
func (s *RosterServer) fallback(region string, rev int64, cause error) (*rosterv1.GetRosterResponse, error) {
	snap, ok := s.watcher.Get(region)
	if !ok {
		if isInvalid(cause) {
			return nil, apierr.Newf(codes.FailedPrecondition, ReasonRosterUnavailable,
				"the stored roster of region %s is invalid and no valid copy is held: %v", region, cause)
		}
		return nil, apierr.Newf(codes.Unavailable, ReasonRosterUnavailable,
			"roster of region %s unavailable: %v", region, cause)
	}
	r := proto.Clone(snap).(*rosterv1.Roster)
	if rev > 0 {
		r.Etag = strconv.FormatInt(rev, 10)
	}
	return &rosterv1.GetRosterResponse{Roster: r, Stale: true}, nil
}

// UpdateRoster replaces the fields named in update_mask (all when empty),
// provided roster.etag is current, records who and why in etcd and
// announces a RosterUpdated event.
func (s *RosterServer) UpdateRoster(ctx context.Context, req *rosterv1.UpdateRosterRequest) (*rosterv1.UpdateRosterResponse, error) {
	id, region, err := callerRegion(ctx, req.GetRoster().GetName(), "roster.name")
	if err != nil {
		return nil, err
	}
	if req.GetRoster().GetEtag() == "" {
		return nil, apierr.Invalid(apierr.Violation{Field: "roster.etag", Reason: "required: the etag of the roster read before the change"})
	}
	var fields []string
	for _, p := range req.GetUpdateMask().GetPaths() {
		if !slices.Contains(roster.Fields, p) {
			return nil, apierr.Invalid(apierr.Violation{Field: "update_mask",
				Reason: fmt.Sprintf("path %q cannot be updated (allowed: %s)", p, strings.Join(roster.Fields, ", "))})
		}
		fields = append(fields, p)
	}

	wctx, cancel := context.WithTimeout(ctx, etcdTimeout)
	defer cancel()
	change := &roster.ChangeRecord{Actor: rosterfeed.ActorString(id), Roles: id.Roles, Reason: req.GetReason()}
	etag, err := roster.Store(wctx, s.etcd, region, req.GetRoster(), fields, req.GetRoster().GetEtag(), change)
	if err != nil {
		return nil, toStatus(err)
	}
	rev, _ := strconv.ParseInt(etag, 10, 64)
	stored, _, err := roster.LoadAt(wctx, s.etcd, region, rev)
	if err != nil {
		return nil, toStatus(err)
	}
	// The audit record in etcd is the outbox: when this announcement fails
	// the feed's sweep makes it later, exactly once.
	if err := s.feed.Publish(ctx, region, *change); err != nil {
		s.log.Warn("announce roster change failed; the sweep will retry",
			"region", region, "change", change.ID, "error", err.Error())
	}
	return &rosterv1.UpdateRosterResponse{Roster: stored}, nil
}
