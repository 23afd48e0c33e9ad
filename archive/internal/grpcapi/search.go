package grpcapi

import (
	"context"
	"encoding/base64"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/archive/internal/dossier"
	"github.com/xiaoyi-disputes/disputes/archive/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
)

// searchToken encodes where a search page ended, with a fingerprint of the
// search it belongs to, so a token is never read against other filters.
func searchToken(c *store.Cursor, fingerprint string) string {
	if c == nil {
		return ""
	}
	raw := "c1|" + strconv.FormatFloat(c.Score, 'f', -1, 64) + "|" + fingerprint + "|" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// parseSearchToken reads a token searchToken made for the same search.
func parseSearchToken(token, fingerprint string) (*store.Cursor, error) {
	if token == "" {
		return nil, nil
	}
	bad := &dossier.ValidationError{Field: "page_token", Reason: "is not a token from a previous response of this search"}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, bad
	}
	parts := strings.SplitN(string(raw), "|", 4)
	if len(parts) != 4 || parts[0] != "c1" || parts[2] != fingerprint || parts[3] == "" {
		return nil, bad
	}
	score, err := strconv.ParseFloat(parts[1], 64)
	if err != nil {
		return nil, bad
	}
	return &store.Cursor{Score: score, ID: parts[3]}, nil
}

// fingerprint identifies a search by its filters (page size and token left out).
func fingerprint(req *archivev1.SearchDossiersRequest) string {
	r := proto.CloneOf(req)
	r.PageSize, r.PageToken = 0, ""
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	h := fnv.New64a()
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 36)
}

// SearchDossiers pages the dossiers a caller may see, latest registered
// first: the whole region for the office and convenor, else those the
// caller's department may read. It reads an index the consumer keeps per
// reader, never the region's dossiers (docs/PERFORMANCE.md, "Archive search
// and statistics"); a page may hold fewer dossiers than asked and still
// have a next one.
func (s *Server) SearchDossiers(ctx context.Context, req *archivev1.SearchDossiersRequest) (*archivev1.SearchDossiersResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	region, err := regionOf(c, req.GetParent())
	if err != nil {
		return nil, s.toStatus(err)
	}
	_, size, err := page("", req.GetPageSize(), defaultPageSize, maxPageSize)
	if err != nil {
		return nil, s.toStatus(err)
	}
	fp := fingerprint(req)
	after, err := parseSearchToken(req.GetPageToken(), fp)
	if err != nil {
		return nil, s.toStatus(err)
	}
	f := dossier.Filter{State: req.GetState(), Category: req.GetCategory(), Channel: req.GetChannel(),
		RegisteringDepartment: req.GetRegisteringDepartment(), Jurisdiction: req.GetJurisdiction(), Query: req.GetQuery()}
	if f.From, f.To, err = timeRange(req.GetStartTime(), req.GetEndTime()); err != nil {
		return nil, s.toStatus(err)
	}
	pg, err := s.store.Search(ctx, region, store.Query{Scope: dossier.ScopeOf(c), Filter: f, After: after, Limit: size})
	if err != nil {
		return nil, s.toStatus(err)
	}
	resp := &archivev1.SearchDossiersResponse{NextPageToken: searchToken(pg.Next, fp)}
	for _, d := range pg.Dossiers {
		resp.Dossiers = append(resp.Dossiers, summary(d))
	}
	return resp, nil
}

// timeRange reads a start_time and end_time pair (either unset:
// unbounded); end_time must be after start_time.
func timeRange(start, end *timestamppb.Timestamp) (from, to time.Time, err error) {
	if start != nil {
		from = start.AsTime()
	}
	if end != nil {
		to = end.AsTime()
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, &dossier.ValidationError{Field: "end_time", Reason: "must be after start_time"}
	}
	return from, to, nil
}

// statisticsScope is whose counters a caller reads: the region's for the
// office and convenor, and for the platform (市委政法委), which oversees the
// region's disputes in numbers though it reads a dispute itself only while
// the dispute is at the platform; a department's own otherwise. Counters
// carry no personal data.
func statisticsScope(ctx context.Context, c dossier.Caller) string {
	if id, ok := authn.FromContext(ctx); ok && id.HasAnyRole(authn.RolePlatform) {
		return dossier.ScopeRegion
	}
	return dossier.ScopeOf(c)
}

// GetStatistics counts the disputes a caller may see by month of
// registration, from counters the consumer keeps per reader: the region's
// for the office and convenor, else those of the caller's department. It
// reads one hash per month, whatever the number of dossiers.
func (s *Server) GetStatistics(ctx context.Context, req *archivev1.GetStatisticsRequest) (*archivev1.GetStatisticsResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	region, err := regionOf(c, req.GetParent())
	if err != nil {
		return nil, s.toStatus(err)
	}
	from, to, err := timeRange(req.GetStartTime(), req.GetEndTime())
	if err != nil {
		return nil, s.toStatus(err)
	}
	var fromMonth, toMonth string
	if !from.IsZero() {
		fromMonth = dossier.MonthOf(from)
	}
	if !to.IsZero() {
		toMonth = dossier.MonthOf(to.Add(-time.Nanosecond))
	}
	rows, months, err := s.store.Statistics(ctx, region, statisticsScope(ctx, c), fromMonth, toMonth)
	if err != nil {
		return nil, s.toStatus(err)
	}
	conv := func(cs []dossier.Count) []*archivev1.Count {
		out := make([]*archivev1.Count, len(cs))
		for i, c := range cs {
			out[i] = &archivev1.Count{Key: c.Key, Value: c.Value}
		}
		return out
	}
	resp := &archivev1.GetStatisticsResponse{
		ByCategory:   conv(dossier.Totals(rows, dossier.DimCategory, dossier.MRegistered)),
		ByChannel:    conv(dossier.Totals(rows, dossier.DimChannel, dossier.MRegistered)),
		ByState:      conv(dossier.Totals(rows, dossier.DimState, dossier.MRegistered)),
		ByDepartment: conv(dossier.Totals(rows, dossier.DimRegisteringDepartment, dossier.MRegistered)),
	}
	for _, t := range dossier.Totals(rows, dossier.DimTotal, dossier.MRegistered) {
		resp.Total += t.Value
	}
	if len(months) > 0 {
		resp.StartMonth, resp.EndMonth = months[0], months[len(months)-1]
	}
	for _, r := range rows {
		m := r.Measures
		resp.Rows = append(resp.Rows, &archivev1.StatisticsRow{Dimension: r.Dimension, Key: r.Key, Month: r.Month,
			Registered: m[dossier.MRegistered], Closed: m[dossier.MClosed], Replied: m[dossier.MReplied],
			RepliedOnTime: m[dossier.MRepliedOnTime], Overdue: m[dossier.MOverdue], Returned: m[dossier.MReturned],
			Extended: m[dossier.MExtended], ReplyWorkingDays: m[dossier.MReplyWorkingDays],
			FollowUps: m[dossier.MFollowUps], Satisfied: m[dossier.MSatisfied]})
	}
	return resp, nil
}
