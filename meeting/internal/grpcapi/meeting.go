package grpcapi

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	"github.com/xiaoyi-disputes/disputes/platform/mask"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	eventv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/event/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// Rosters gives the last valid roster of a region (the roster watcher).
type Rosters interface {
	Get(region string) (*rosterv1.Roster, bool)
}

// MeetingServer implements meetingv1.MeetingServiceServer: the office's
// triage, joint meetings, opinions, decisions, convenor approvals and the
// platform's outcome. Each RPC's handler is in its own file.
type MeetingServer struct {
	meetingv1.UnimplementedMeetingServiceServer

	store   *store.Store
	rosters Rosters
	now     func() time.Time
	log     *slog.Logger
}

// NewMeetingServer returns the meeting service over st, checking invited
// units against rosters.
func NewMeetingServer(st *store.Store, rosters Rosters, now func() time.Time, log *slog.Logger) *MeetingServer {
	return &MeetingServer{store: st, rosters: rosters, now: now, log: log}
}

// identity returns the caller, refusing one of another region than region.
func identity(ctx context.Context, region string) (authn.Identity, error) {
	id, ok := authn.FromContext(ctx)
	if !ok {
		return id, apierr.New(codes.Unauthenticated, apierr.ReasonUnauthenticated, "no caller identity")
	}
	if id.Region != region {
		return id, apierr.Newf(codes.PermissionDenied, ReasonRegionMismatch,
			"caller acts for region %s, not %s", id.Region, region)
	}
	return id, nil
}

// disputeCaller parses a dispute name in field and checks the caller's
// region; it returns the caller, the region and the canonical name.
func disputeCaller(ctx context.Context, name, field string) (authn.Identity, string, string, error) {
	canon, region, err := parseDispute(name, field)
	if err != nil {
		return authn.Identity{}, "", "", err
	}
	id, err := identity(ctx, region)
	return id, region, canon, err
}

func parseDispute(name, field string) (canon, region string, err error) {
	region, _, err = names.DisputeID(name)
	if err != nil {
		return "", "", toStatus(names.InField(field, err))
	}
	return name, region, nil
}

// childCaller parses "regions/<r>/<collection>/<id>" (or "regions/<r>"
// when collection is empty) in field and checks the caller's region.
func childCaller(ctx context.Context, name, collection, field string) (authn.Identity, string, string, error) {
	parts := strings.Split(name, "/")
	ok := len(parts) >= 2 && parts[0] == "regions" && parts[1] != ""
	if collection == "" {
		ok = ok && len(parts) == 2
	} else {
		ok = ok && len(parts) == 4 && parts[2] == collection && parts[3] != ""
	}
	if !ok {
		want := "regions/<region>"
		if collection != "" {
			want += "/" + collection + "/<id>"
		}
		return authn.Identity{}, "", "", apierr.Invalid(apierr.Violation{Field: field, Reason: fmt.Sprintf("%q is not %s", name, want)})
	}
	id, err := identity(ctx, parts[1])
	if err != nil {
		return id, "", "", err
	}
	if collection == "" {
		return id, parts[1], "", nil
	}
	return id, parts[1], parts[3], nil
}

// event builds an event of the meeting stream with the caller as actor.
func (s *MeetingServer) event(id authn.Identity, dispute, reason string, payload proto.Message, now time.Time) (*eventv1.Event, error) {
	return events.New(store.Service, id.Region, dispute, events.ActorOf(id), reason, payload, now)
}

// matter reads the office's view of name, NOT_FOUND when it has none.
func matter(r *store.Reader, name string) (*office.Matter, error) {
	m, err := r.Matter(name)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, office.NotFound(name)
	}
	return m, nil
}

func meetingName(region, id string) string  { return "regions/" + region + "/meetings/" + id }
func approvalName(region, id string) string { return "regions/" + region + "/approvals/" + id }

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func meetingProto(region string, mt *office.Meeting) *meetingv1.Meeting {
	out := &meetingv1.Meeting{
		Name:         meetingName(region, mt.ID),
		Disputes:     mt.Disputes,
		InvitedUnits: mt.InvitedUnits,
		StartTime:    ts(mt.StartTime),
		Place:        mt.Place,
		Agenda:       mt.Agenda,
		Kind:         meetingv1.MeetingKind(mt.KindOf()),
		Minutes:      minutesProto(mt.Minutes),
		ConveneTime:  ts(mt.ConvenedAt),
	}
	for _, o := range mt.Opinions {
		out.Opinions = append(out.Opinions, opinionProto(o))
	}
	return out
}

func minutesProto(mn *office.Minutes) *meetingv1.Minutes {
	if mn == nil {
		return nil
	}
	out := &meetingv1.Minutes{Text: mn.Text, Decisions: mn.Decisions, RecordTime: ts(mn.Time), RecordedBy: mn.RecordedBy}
	for _, a := range mn.Attendees {
		out.Attendees = append(out.Attendees, &meetingv1.Attendee{Unit: a.Unit, Name: a.Name, Title: a.Title})
	}
	return out
}

func warningName(region, id string) string { return "regions/" + region + "/massWarnings/" + id }

// warningProto returns w as the API shows it. Lists mask the employer's
// credit code (listed is true), as intake's lists do (docs/SECURITY.md,
// "What is masked").
func warningProto(region, officeHost string, w *office.MassWarning, listed bool) *meetingv1.MassWarning {
	out := &meetingv1.MassWarning{
		Name:                         warningName(region, w.ID),
		Dispute:                      w.Dispute,
		Trigger:                      w.Trigger,
		PeopleInvolved:               w.People,
		OpenDisputesSameEmployer:     w.EmployerCount,
		AddressedTo:                  w.AddressedTo,
		AcknowledgingUnits:           w.Acknowledgers(officeHost),
		RaiseTime:                    ts(w.RaisedAt),
		LastRaiseTime:                ts(w.LastRaisedAt),
		State:                        meetingv1.MassWarningState_MASS_WARNING_STATE_ACKNOWLEDGED,
		Disputes:                     w.Disputes,
		DisputeCount:                 int32(len(w.Disputes)),
		EmployerName:                 w.EmployerName,
		EmployerCreditCode:           w.EmployerCreditCode,
		DisputesSinceAcknowledgement: w.SinceAcknowledged(),
		Acknowledgement:              ackProto(w.Ack),
	}
	if w.Pending() {
		out.State = meetingv1.MassWarningState_MASS_WARNING_STATE_PENDING
	}
	if w.Ack == nil {
		// Every dispute is new to a warning never acknowledged; the field
		// is for what came after an acknowledgement.
		out.DisputesSinceAcknowledgement = nil
	}
	if listed && out.EmployerCreditCode != "" {
		out.EmployerCreditCode = mask.CreditCode(out.EmployerCreditCode)
	}
	for i := range w.Earlier {
		out.EarlierAcknowledgements = append(out.EarlierAcknowledgements, ackProto(&w.Earlier[i]))
	}
	return out
}

func ackProto(a *office.Acknowledgement) *meetingv1.MassWarningAcknowledgement {
	if a == nil {
		return nil
	}
	return &meetingv1.MassWarningAcknowledgement{Unit: a.Unit, Staff: a.Staff, AcknowledgeTime: ts(a.Time), Note: a.Note, Disputes: a.Disputes}
}

func opinionProto(o office.Opinion) *meetingv1.Opinion {
	return &meetingv1.Opinion{Dispute: o.Dispute, Unit: o.Unit, Text: o.Text, SubmitTime: ts(o.Time), Staff: o.Staff}
}

func approvalProto(region string, a *office.Approval) *meetingv1.Approval {
	return &meetingv1.Approval{
		Name:        approvalName(region, a.ID),
		Dispute:     a.Dispute,
		Summary:     a.Summary,
		Decided:     a.Decided,
		Approved:    a.Approved,
		Comment:     a.Comment,
		RequestTime: ts(a.RequestTime),
		DecideTime:  ts(a.DecideTime),
	}
}
