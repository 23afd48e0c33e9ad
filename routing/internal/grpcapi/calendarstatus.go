package grpcapi

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/regionconfig"
	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

// ReasonCalendarsNotLoaded is the ErrorInfo reason of GetCalendarStatus
// before the calendars have been read from etcd once.
const ReasonCalendarsNotLoaded = "CALENDARS_NOT_LOADED"

// SetCalendars sets the watcher GetCalendarStatus reads.
func (s *Server) SetCalendars(w *regionconfig.Watcher[*configv1.BusinessCalendar]) { s.calendars = w }

// GetCalendarStatus reports the region's calendar years: those loaded, and
// those in use now that are missing (regionconfig.MissingCalendars, the
// same test /readyz reports and the RPCs refuse on).
func (s *Server) GetCalendarStatus(ctx context.Context, req *routingv1.GetCalendarStatusRequest) (*routingv1.GetCalendarStatusResponse, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	region, ok := strings.CutSuffix(strings.TrimPrefix(req.GetName(), "regions/"), "/calendarStatus")
	if !ok || !strings.HasPrefix(req.GetName(), "regions/") || region == "" {
		return nil, apierr.Invalid(apierr.Violation{Field: "name", Reason: fmt.Sprintf("%q is not regions/<region>/calendarStatus", req.GetName())})
	}
	if region != c.Region {
		return nil, s.toStatus(fmt.Errorf("%w: caller's region %s differs from %s", tracker.ErrPermissionDenied, c.Region, region))
	}
	if s.calendars == nil {
		return nil, apierr.New(codes.Unavailable, ReasonCalendarsNotLoaded, "the business calendars are not loaded yet")
	}
	select {
	case <-s.calendars.Loaded():
	default:
		return nil, apierr.New(codes.Unavailable, ReasonCalendarsNotLoaded, "the business calendars are not loaded yet")
	}
	have := s.calendars.Entries(region)
	st := &routingv1.CalendarStatus{Name: req.GetName()}
	for _, y := range regionconfig.MissingCalendars(have, s.now()) {
		st.MissingYears = append(st.MissingYears, int32(y))
	}
	for k := range have {
		if y, err := strconv.Atoi(k); err == nil {
			st.LoadedYears = append(st.LoadedYears, int32(y))
		}
	}
	slices.Sort(st.LoadedYears)
	return &routingv1.GetCalendarStatusResponse{CalendarStatus: st}, nil
}
