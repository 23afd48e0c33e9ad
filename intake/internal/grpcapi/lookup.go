package grpcapi

import (
	"context"
	"errors"
	"net"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// ClientAddressHeader is the metadata in which the gateway passes the
// address of the browser a lookup came from; without it the lookup is
// counted against the calling peer's address. Only platform components hold
// a client certificate, so only they can set it.
const ClientAddressHeader = "x-disputes-client-address"

// ReasonTooManyLookups is the ErrorInfo reason of a lookup refused because
// of too many wrong codes.
const ReasonTooManyLookups = "TOO_MANY_LOOKUPS"

// LookupLimits bound wrong lookup codes: after Number wrong codes for one
// dispute number, or Client wrong codes from one client address, within
// Window, every lookup of that number or from that client is refused
// until the window ends.
type LookupLimits struct {
	Number, Client int64
	Window         time.Duration
}

// DefaultLookupLimits: 5 wrong codes per number and 20 per client address
// in 15 minutes. A code is 8 characters of 31 (8.5e11 codes), so guessing one
// number's code at 5 tries per 15 minutes takes longer than any dispute lives.
var DefaultLookupLimits = LookupLimits{Number: 5, Client: 20, Window: 15 * time.Minute}

// SetLookupLimits replaces the limits of wrong lookup codes.
func (s *Service) SetLookupLimits(l LookupLimits) { s.lookupLimits = l }

func (s *Service) limits() LookupLimits {
	if s.lookupLimits.Window > 0 {
		return s.lookupLimits
	}
	return DefaultLookupLimits
}

// lookupMiss is the one answer to a number that does not exist and to a
// wrong code: byte for byte the same, so it tells nothing about the number.
func lookupMiss(name string) error {
	return apierr.Newf(codes.NotFound, ReasonDisputeNotFound, "no dispute %s with this lookup code", name)
}

// clientAddress is whom a lookup is counted against.
func clientAddress(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(ClientAddressHeader); len(v) > 0 && v[0] != "" && len(v[0]) <= 64 {
			return v[0]
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		if host, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
			return host
		}
		return p.Addr.String()
	}
	return "unknown"
}

// LookupDispute is the claimant's lookup (查询) with the number and the
// receipt's lookup code, without a token: state, stage dates and the due
// date, nothing personal. A wrong code and an unknown number get the same
// NOT_FOUND; wrong codes are counted per number and per client address, and
// past the limits every lookup of either is RESOURCE_EXHAUSTED with a
// RetryInfo until the window ends, the right code included.
func (s *Service) LookupDispute(ctx context.Context, req *intakev1.LookupDisputeRequest) (*intakev1.LookupDisputeResponse, error) {
	region, id, err := names.DisputeID(req.GetName())
	if err != nil {
		return nil, toStatus(err)
	}
	name := dispute.Name(region, id)
	client := clientAddress(ctx)
	lim := s.limits()
	byNumber, byClient, numberTTL, clientTTL, err := s.store.LookupFailures(ctx, region, id, client)
	if err != nil {
		return nil, toStatus(err)
	}
	var wait time.Duration
	if byNumber >= lim.Number {
		wait = max(wait, numberTTL)
	}
	if byClient >= lim.Client {
		wait = max(wait, clientTTL)
	}
	if byNumber >= lim.Number || byClient >= lim.Client {
		return nil, tooMany(wait, lim.Window)
	}
	d, progress, err := s.store.Lookup(ctx, region, id)
	issued := ""
	switch {
	case err == nil:
		issued = d.GetLookupCode()
	case !isNotFound(err):
		return nil, toStatus(err)
	}
	// Compared whether or not the number exists, so both take the same time.
	if !dispute.LookupCodeMatches(issued, req.GetLookupCode()) || d == nil {
		if err := s.store.CountLookupFailure(ctx, region, id, client, lim.Window); err != nil {
			return nil, toStatus(err)
		}
		return nil, lookupMiss(name)
	}
	out := &intakev1.LookupDisputeResponse{State: progress.State, RegisterTime: d.GetRegisterTime()}
	if out.State == 0 {
		// Routing has not reported yet: registered is all there is.
		out.State = registeredState
	}
	for _, st := range progress.Stages {
		out.Stages = append(out.Stages, &intakev1.StageDate{State: st.State, Time: timestamppb.New(st.Time)})
	}
	if len(out.Stages) == 0 || out.Stages[0].GetState() != registeredState {
		out.Stages = append([]*intakev1.StageDate{{State: registeredState, Time: d.GetRegisterTime()}}, out.Stages...)
	}
	if !progress.Due.IsZero() {
		out.DueTime = timestamppb.New(progress.Due)
	}
	return out, nil
}

// tooMany is the answer past the limits, with how long to wait.
func tooMany(wait, window time.Duration) error {
	if wait <= 0 {
		wait = window
	}
	st := status.New(codes.ResourceExhausted, "too many wrong lookup codes; try again later")
	ds, err := st.WithDetails(
		&errdetails.ErrorInfo{Reason: ReasonTooManyLookups, Domain: apierr.Domain},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(wait.Round(time.Second))},
	)
	if err != nil {
		return st.Err()
	}
	return ds.Err()
}

const registeredState = typesv1.DisputeState_DISPUTE_STATE_REGISTERED

func isNotFound(err error) bool { return errors.Is(err, dispute.ErrNotFound) }
