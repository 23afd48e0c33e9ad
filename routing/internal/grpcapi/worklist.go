package grpcapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/store"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
	"github.com/xiaoyi-disputes/disputes/routing/internal/wire"
)

// Worklist paging.
const (
	defaultPageSize      = 50
	maxPageSize          = 500
	defaultDueWithinDays = 3
)

var parentRE = regexp.MustCompile(`^regions/([0-9]{6})/departments/([a-z][a-z0-9_-]{0,31})$`)

// pageToken is what a next_page_token carries: the request it continues
// and where the previous page ended. The time the first page was read is
// kept so the overdue and due-soon ranges do not shift between pages.
type pageToken struct {
	Parent    string `json:"p"`
	Bucket    int32  `json:"b"`
	DueWithin int32  `json:"w"`
	Now       int64  `json:"n"`
	After     string `json:"a"`
	View      int32  `json:"v,omitempty"`
}

func (p pageToken) encode() string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

func badToken(why string) error {
	return &tracker.ValidationError{Field: "page_token", Reason: why}
}

// decodeToken parses a page token and checks it continues req.
func decodeToken(s string, parent string, bucket, within, view int32) (pageToken, error) {
	var p pageToken
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(raw, &p) != nil || p.After == "" || p.Now <= 0 {
		return p, badToken("is not a token this service issued")
	}
	if p.Parent != parent || p.Bucket != bucket || p.DueWithin != within || p.View != view {
		return p, badToken("was issued for another parent, bucket, view or due_within_days; start again without it")
	}
	return p, nil
}

// ListWorklist lists a department's open disputes by bucket, soonest due
// first, with the count of every bucket. A department lists its own
// worklist; the office and convenor list any department's of their region.
// A view lists one role's work on the office path instead, each line due
// by the clock of that work; the pending approvals are the region's, for
// the convenor and the office.
func (s *Server) ListWorklist(ctx context.Context, req *routingv1.ListWorklistRequest) (*routingv1.ListWorklistResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	m := parentRE.FindStringSubmatch(req.GetParent())
	if m == nil {
		return nil, s.toStatus(&tracker.ValidationError{Field: "parent", Reason: "must be regions/<region>/departments/<department>"})
	}
	region, dept := m[1], m[2]
	switch {
	case region != c.Region:
		return nil, s.toStatus(fmt.Errorf("%w: caller's region %s differs from region %s", tracker.ErrPermissionDenied, c.Region, region))
	case !c.RegionWide && dept != c.Department:
		return nil, s.toStatus(fmt.Errorf("%w: department %s may list only its own worklist", tracker.ErrPermissionDenied, c.Department))
	}
	view := tracker.View(req.GetView())
	listDept := dept
	if view == tracker.ViewApprovalsPending {
		if !c.RegionWide {
			return nil, s.toStatus(fmt.Errorf("%w: the pending approvals are listed by the convenor and the office", tracker.ErrPermissionDenied))
		}
		listDept = tracker.RegionWide
	}
	size := int(req.GetPageSize())
	if size <= 0 {
		size = defaultPageSize
	}
	size = min(size, maxPageSize)
	within := req.GetDueWithinDays()
	if within <= 0 {
		within = defaultDueWithinDays
	}
	bucket := int32(req.GetBucket())
	tok := pageToken{Parent: req.GetParent(), Bucket: bucket, DueWithin: within, Now: s.now().UnixMilli(), View: int32(view)}
	if req.GetPageToken() != "" {
		if tok, err = decodeToken(req.GetPageToken(), req.GetParent(), bucket, within, int32(view)); err != nil {
			return nil, s.toStatus(err)
		}
	}
	now := time.UnixMilli(tok.Now)
	rules := s.calendar.Rules(region)
	page, err := s.store.Worklist(ctx, store.WorklistQuery{
		Region: region, Department: listDept, Bucket: tracker.Bucket(bucket), View: view,
		Now: now, DueSoonUntil: rules.Calendar.AddWorkingDays(now, int(within)),
		After: tok.After, Limit: size,
	})
	if errors.Is(err, store.ErrBadCursor) {
		return nil, s.toStatus(badToken("is not a token this service issued"))
	}
	if err != nil {
		return nil, s.toStatus(err)
	}
	out := &routingv1.ListWorklistResponse{}
	for _, t := range page.Trackers {
		item := &routingv1.WorklistItem{Dispute: t.Name, Number: t.Number, State: t.State, Category: t.Category, Holder: t.Holder}
		k, ok := t.RunningClock()
		if view != tracker.ViewHolder {
			var e tracker.ViewEntry
			e, ok = t.ViewEntryOf(view, listDept)
			k = e.Clock
			ok = ok && k.Stage != 0
		}
		if ok {
			w := wire.Clock(k, rules, s.now())
			item.Stage, item.DueTime, item.RemainingWorkingDays = w.GetStage(), w.GetDueTime(), w.GetRemainingWorkingDays()
			item.Overdue = k.Overdue || (k.Running() && !k.Paused() && s.now().After(k.Due))
		}
		out.Items = append(out.Items, item)
	}
	if page.Next != "" {
		tok.After = page.Next
		out.NextPageToken = tok.encode()
	}
	for _, b := range store.CountedBuckets {
		out.Counts = append(out.Counts, &routingv1.BucketCount{Bucket: routingv1.Bucket(b), Count: int32(page.Counts[b])})
	}
	return out, nil
}
