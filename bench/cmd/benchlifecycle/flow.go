package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/xiaoyi-disputes/disputes/platform/authn"
	archivev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/archive/v1"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	meetingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/meeting/v1"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// clients holds one connection per service and a token per role the
// lifecycle needs.
type clients struct {
	region  string
	intake  intakev1.IntakeServiceClient
	routing routingv1.RoutingServiceClient
	meeting meetingv1.MeetingServiceClient
	archive archivev1.ArchiveServiceClient
	conns   []*grpc.ClientConn

	clerk, hrss, office grpc.CallOption // tax clerk/handler, hrss handler, the office (at tax)
	run                 string
	phoneBase           int64
}

func dialAll(c config) (*clients, error) {
	priv, err := authn.LoadPrivateKey(c.keyFile)
	if err != nil {
		return nil, err
	}
	tok := func(dept, staff string, roles ...string) (grpc.CallOption, error) {
		t, err := authn.Issue(priv, authn.Identity{Region: c.region, Department: dept, Staff: staff, Roles: roles}, 6*time.Hour)
		if err != nil {
			return nil, err
		}
		return grpc.PerRPCCredentials(authn.TokenCredentials(t)), nil
	}
	cl := &clients{region: c.region, run: fmt.Sprintf("%x", time.Now().UnixNano()), phoneBase: rand.Int64N(500_000_000)}
	if cl.clerk, err = tok("tax", "bench-clerk", authn.RoleClerk, authn.RoleHandler); err != nil {
		return nil, err
	}
	if cl.hrss, err = tok("hrss", "bench-hrss", authn.RoleHandler); err != nil {
		return nil, err
	}
	if cl.office, err = tok("tax", "bench-office", authn.RoleOffice, authn.RoleHandler); err != nil {
		return nil, err
	}
	// Several addresses of one service are its replicas, called in turn.
	dial := func(addrs string) (grpc.ClientConnInterface, error) {
		rr := &roundRobin{}
		for _, addr := range strings.Split(addrs, ",") {
			cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return nil, fmt.Errorf("dial %s: %w", addr, err)
			}
			cc.Connect()
			cl.conns = append(cl.conns, cc)
			rr.conns = append(rr.conns, cc)
		}
		if len(rr.conns) == 1 {
			return rr.conns[0], nil
		}
		return rr, nil
	}
	for _, d := range []struct {
		addr string
		set  func(grpc.ClientConnInterface)
	}{
		{c.intakeAddr, func(cc grpc.ClientConnInterface) { cl.intake = intakev1.NewIntakeServiceClient(cc) }},
		{c.routingAddr, func(cc grpc.ClientConnInterface) { cl.routing = routingv1.NewRoutingServiceClient(cc) }},
		{c.meetingAddr, func(cc grpc.ClientConnInterface) { cl.meeting = meetingv1.NewMeetingServiceClient(cc) }},
		{c.archAddr, func(cc grpc.ClientConnInterface) { cl.archive = archivev1.NewArchiveServiceClient(cc) }},
	} {
		cc, err := dial(d.addr)
		if err != nil {
			cl.close()
			return nil, err
		}
		d.set(cc)
	}
	return cl, nil
}

// roundRobin sends each call to the next of several connections, one per
// replica of a service, as the gateway's etcd resolver does.
type roundRobin struct {
	conns []*grpc.ClientConn
	next  atomic.Uint64
}

func (r *roundRobin) pick() *grpc.ClientConn {
	return r.conns[(r.next.Add(1)-1)%uint64(len(r.conns))]
}

func (r *roundRobin) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return r.pick().Invoke(ctx, method, args, reply, opts...)
}

func (r *roundRobin) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return r.pick().NewStream(ctx, desc, method, opts...)
}

func (cl *clients) close() {
	for _, cc := range cl.conns {
		cc.Close()
	}
}

// trace records the latency of each call of one lifecycle.
type trace struct {
	calls []callTime
	waits int // retries of a call that waited for another service's consumer
}

type callTime struct {
	name string
	d    time.Duration
}

// do runs one call and records its latency under name; a failure is
// returned wrapped with the call's name.
func (tr *trace) do(name string, f func() error) error {
	start := time.Now()
	err := f()
	if err != nil {
		return &callError{call: name, err: err}
	}
	tr.calls = append(tr.calls, callTime{name, time.Since(start)})
	return nil
}

// eventually runs f until it succeeds or fails with something other than a
// refusal that says another service has not caught up (FAILED_PRECONDITION,
// NOT_FOUND), waiting a little between tries.
func (tr *trace) eventually(ctx context.Context, name string, f func() error) error {
	start := time.Now()
	wait := time.Millisecond
	for {
		err := f()
		if err == nil {
			tr.calls = append(tr.calls, callTime{name, time.Since(start)})
			return nil
		}
		if c := status.Code(err); c != codes.FailedPrecondition && c != codes.NotFound {
			return &callError{call: name, err: err}
		}
		tr.waits++
		select {
		case <-ctx.Done():
			return &callError{call: name, err: err}
		case <-time.After(wait):
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// callError names the call of a lifecycle that failed.
type callError struct {
	call string
	err  error
}

func (e *callError) Error() string { return e.call + ": " + e.err.Error() }
func (e *callError) Unwrap() error { return e.err }

// GRPCStatus lets status.Code see the call's code.
func (e *callError) GRPCStatus() *status.Status { s, _ := status.FromError(e.err); return s }

func (cl *clients) registration(seq int64) *intakev1.RegisterDisputeRequest {
	n := (cl.phoneBase + seq) % 1_000_000_000
	return &intakev1.RegisterDisputeRequest{
		Parent:    "regions/" + cl.region,
		RequestId: fmt.Sprintf("life-%s-%d", cl.run, seq),
		Dispute: &intakev1.Dispute{
			Claimant: &intakev1.Claimant{
				Kind:  typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL,
				Name:  fmt.Sprintf("压测诉求人%d", seq),
				Phone: fmt.Sprintf("13%09d", n),
			},
			Complaint:             "单位未按规定核定社会保险待遇，要求重新核定。",
			Category:              typesv1.Category_CATEGORY_BENEFITS,
			Channel:               typesv1.Channel_CHANNEL_WINDOW,
			RegisteringDepartment: "tax",
			PeopleInvolved:        1,
		},
	}
}

// register registers dispute seq and returns its name.
func (cl *clients) register(ctx context.Context, tr *trace, seq int64) (string, error) {
	var name string
	err := tr.do("RegisterDispute", func() error {
		r, err := cl.intake.RegisterDispute(ctx, cl.registration(seq), cl.clerk)
		name = r.GetDispute().GetName()
		return err
	})
	return name, err
}

// transfer takes a registered dispute through the transfer path: routed to
// hrss, received, replied to, closed by hrss.
func (cl *clients) transfer(ctx context.Context, tr *trace, name string) error {
	if err := tr.do("RouteDispute", func() error {
		_, err := cl.routing.RouteDispute(ctx, &routingv1.RouteDisputeRequest{
			Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_TRANSFER, TargetDepartment: "hrss",
			Opinion: "属人社部门待遇核定职责"}, cl.clerk)
		return err
	}); err != nil {
		return err
	}
	if err := tr.do("ReceiveTransfer", func() error {
		_, err := cl.routing.ReceiveTransfer(ctx, &routingv1.ReceiveTransferRequest{Name: name}, cl.hrss)
		return err
	}); err != nil {
		return err
	}
	if err := tr.do("RecordReply", func() error {
		_, err := cl.routing.RecordReply(ctx, &routingv1.RecordReplyRequest{
			Name: name, Outcome: "已重新核定待遇", Text: "经核查，已按规定重新核定并补发。",
			Remedies: []typesv1.Remedy{typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION}}, cl.hrss)
		return err
	}); err != nil {
		return err
	}
	return tr.do("CloseDispute", func() error {
		_, err := cl.routing.CloseDispute(ctx, &routingv1.CloseDisputeRequest{Name: name, Reason: "已答复办结"}, cl.hrss)
		return err
	})
}

// viaOffice takes a registered dispute through the office as a general
// matter: routed to the office, its slip signed by the office, triaged, a joint meeting of tax and hrss
// with both opinions, the office's decision (routing records it as the
// reply) and the holder's close.
func (cl *clients) viaOffice(ctx context.Context, tr *trace, name string, seq int64) error {
	if err := tr.do("RouteDispute", func() error {
		_, err := cl.routing.RouteDispute(ctx, &routingv1.RouteDisputeRequest{
			Name: name, Kind: routingv1.RouteKind_ROUTE_KIND_OFFICE, Opinion: "需税务、人社共同办理"}, cl.clerk)
		return err
	}); err != nil {
		return err
	}
	if err := tr.do("ReceiveTransfer(office)", func() error {
		_, err := cl.routing.ReceiveTransfer(ctx, &routingv1.ReceiveTransferRequest{Name: name}, cl.office)
		return err
	}); err != nil {
		return err
	}
	if err := tr.eventually(ctx, "TriageMatter", func() error {
		_, err := cl.meeting.TriageMatter(ctx, &meetingv1.TriageMatterRequest{
			Name: name, Class: meetingv1.MatterClass_MATTER_CLASS_GENERAL, Note: "一般事项"}, cl.office)
		return err
	}); err != nil {
		return err
	}
	var meeting string
	if err := tr.eventually(ctx, "ConveneMeeting", func() error {
		r, err := cl.meeting.ConveneMeeting(ctx, &meetingv1.ConveneMeetingRequest{
			Parent: "regions/" + cl.region, RequestId: fmt.Sprintf("mtg-%s-%d", cl.run, seq),
			Meeting: &meetingv1.Meeting{Disputes: []string{name}, InvitedUnits: []string{"tax", "hrss"},
				Place: "市税务局三楼会议室", Agenda: "待遇核定争议联办"}}, cl.office)
		meeting = r.GetMeeting().GetName()
		return err
	}); err != nil {
		return err
	}
	for _, who := range []grpc.CallOption{cl.office, cl.hrss} {
		if err := tr.do("SubmitOpinion", func() error {
			_, err := cl.meeting.SubmitOpinion(ctx, &meetingv1.SubmitOpinionRequest{Parent: meeting,
				Opinion: &meetingv1.Opinion{Dispute: name, Text: "同意重新核定"}}, who)
			return err
		}); err != nil {
			return err
		}
	}
	if err := tr.do("IssueDecision", func() error {
		_, err := cl.meeting.IssueDecision(ctx, &meetingv1.IssueDecisionRequest{Name: name, Outcome: "重新核定",
			Text:     "经联席会议研究，由人社部门重新核定待遇。",
			Remedies: []typesv1.Remedy{typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION}}, cl.office)
		return err
	}); err != nil {
		return err
	}
	// Routing records the decision as the reply once it applies meeting's
	// event; the holder then closes.
	return tr.eventually(ctx, "CloseDispute(office)", func() error {
		_, err := cl.routing.CloseDispute(ctx, &routingv1.CloseDisputeRequest{Name: name, Reason: "联席会议决定已告知"}, cl.office)
		return err
	})
}

// lifecycle runs one whole lifecycle: the office path when office is set.
func (cl *clients) lifecycle(ctx context.Context, tr *trace, seq int64, office bool) (string, error) {
	name, err := cl.register(ctx, tr, seq)
	if err != nil {
		return "", err
	}
	if office {
		return name, cl.viaOffice(ctx, tr, name, seq)
	}
	return name, cl.transfer(ctx, tr, name)
}

// sealed reports whether dispute name's dossier has an inclusion proof.
func (cl *clients) sealed(ctx context.Context, name string) (bool, error) {
	_, err := cl.archive.GetInclusionProof(ctx, &archivev1.GetInclusionProofRequest{Name: name}, cl.clerk)
	switch status.Code(err) {
	case codes.OK:
		return true, nil
	case codes.NotFound, codes.FailedPrecondition:
		return false, nil
	}
	return false, err
}

// treeSize is the size of the region's sealed log.
func (cl *clients) treeSize(ctx context.Context) (int64, error) {
	r, err := cl.archive.GetCheckpoint(ctx, &archivev1.GetCheckpointRequest{Parent: "regions/" + cl.region}, cl.clerk)
	if status.Code(err) == codes.NotFound {
		return 0, nil
	}
	return r.GetTreeSize(), err
}
