package grpcapi_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/intake/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/apierr"
	"github.com/xiaoyi-disputes/disputes/platform/events"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// Sample numbers with correct check characters.
const (
	phone       = "13812345678"
	idNumber    = "11010519491231002X"
	creditCode  = "91350100M000100Y43"
	parent      = "regions/" + region
	concurrentN = 2000
)

func validForm() *intakev1.Dispute {
	return &intakev1.Dispute{
		Claimant: &intakev1.Claimant{
			Kind: typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL, Name: "张三", Phone: phone, IdNumber: idNumber,
		},
		Complaint:             "单位未按时足额缴纳社会保险费",
		Category:              typesv1.Category_CATEGORY_CONTRIBUTION_AMOUNT,
		Channel:               typesv1.Channel_CHANNEL_WINDOW,
		RegisteringDepartment: "tax",
		Jurisdiction:          "141181001",
		PeopleInvolved:        1,
	}
}

func number(e *env, n int) string {
	return fmt.Sprintf("%d年第%d号", dispute.Year(e.clock.Now()), n)
}

func name(e *env, n int) string {
	return fmt.Sprintf("regions/%s/disputes/%d-%d", region, dispute.Year(e.clock.Now()), n)
}

func TestRegisterDispute(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	clerk := e.as(conn, region, "tax", "clerk1", "clerk")

	// The window form: the time of the visit and where the reply is delivered.
	form := func() *intakev1.Dispute {
		d := validForm()
		d.VisitTime = timestamppb.New(e.clock.Now().Add(-40 * time.Minute).Truncate(time.Second))
		d.DeliveryAddress = "孝义市新义街道府前街1号"
		return d
	}
	resp, err := clerk.RegisterDispute(clerk.ctx(t), &intakev1.RegisterDisputeRequest{
		Parent: parent, RequestId: "req-1", Dispute: form(),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := form()
	want.Name, want.Number = name(e, 1), number(e, 1)
	want.RegisteringStaff, want.FirstReceiver = "clerk1", "clerk1"
	want.ProposedDepartment = "tax" // default for CONTRIBUTION_AMOUNT in the seed roster
	want.RegisterTime = timestamppb.New(e.clock.Now())
	// The receipt's lookup code is random: 8 characters of the alphabet.
	code := resp.GetDispute().GetLookupCode()
	if len(code) != dispute.LookupCodeLen || strings.Trim(code, dispute.LookupAlphabet) != "" {
		t.Errorf("lookup code = %q, want %d characters of %s", code, dispute.LookupCodeLen, dispute.LookupAlphabet)
	}
	want.LookupCode = code
	if d := cmp.Diff(want, resp.GetDispute(), protocmp.Transform()); d != "" {
		t.Errorf("registered (-want +got):\n%s", d)
	}
	if resp.GetReplayed() {
		t.Error("replayed = true on the first registration")
	}

	got, err := clerk.GetDispute(clerk.ctx(t), &intakev1.GetDisputeRequest{Name: want.Name})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got.GetDispute(), protocmp.Transform()); d != "" {
		t.Errorf("get (-want +got):\n%s", d)
	}

	msgs, err := e.rdb.XRange(clerk.ctx(t), events.Stream(store.Service, region), "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("stream: %d entries, err %v; want 1", len(msgs), err)
	}
	ev, err := events.Decode(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetDispute() != want.Name || ev.GetSource() != "intake" || ev.GetActor().GetStaffId() != "clerk1" {
		t.Errorf("event = %v", ev)
	}
	p, err := events.Payload[*intakev1.DisputeRegistered](ev)
	if err != nil {
		t.Fatal(err)
	}
	wantPayload := proto.Clone(want).(*intakev1.Dispute)
	wantPayload.Name, wantPayload.Number = "", "" // carried by the envelope
	wantPayload.LookupCode = ""                   // only for those who may read the dispute
	if d := cmp.Diff(wantPayload, p.GetDispute(), protocmp.Transform()); d != "" {
		t.Errorf("payload (-want +got):\n%s", d)
	}

	// Numbers are per year in China Standard Time: the first registration
	// of the next year is number 1 again.
	next := time.Date(dispute.Year(e.clock.Now())+1, 1, 1, 0, 0, 1, 0, dispute.Shanghai)
	e.clock.Set(next)
	resp, err = clerk.RegisterDispute(clerk.ctx(t), &intakev1.RegisterDisputeRequest{
		Parent: parent, RequestId: "req-2", Dispute: validForm(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.GetDispute().GetNumber(), fmt.Sprintf("%d年第1号", next.Year()); got != want {
		t.Errorf("first number of the next year = %q, want %q", got, want)
	}
}

// TestRegisterRefused sends forms each wrong in one way: each is refused
// naming the field, and nothing is stored, so the next valid one is
// number 1.
func TestRegisterRefused(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	clerk := e.as(conn, region, "tax", "clerk1", "clerk")
	future := fmt.Sprintf("110105%d0101002", dispute.Year(e.clock.Now())+1)
	futureID := future + string(checkChar(t, future))

	for _, tc := range []struct {
		name   string
		edit   func(*intakev1.Dispute)
		fields []string
		code   codes.Code
	}{
		{"complaint of spaces only", func(d *intakev1.Dispute) { d.Complaint = " \u3000 \n" }, []string{"dispute.complaint"}, codes.InvalidArgument},
		{"claimant name of spaces only", func(d *intakev1.Dispute) { d.Claimant.Name = "   " }, []string{"dispute.claimant.name"}, codes.InvalidArgument},
		{"phone", func(d *intakev1.Dispute) { d.Claimant.Phone = "12812345678" }, []string{"dispute.claimant.phone"}, codes.InvalidArgument},
		{"landline without area code", func(d *intakev1.Dispute) { d.Claimant.Phone = "7654321" }, []string{"dispute.claimant.phone"}, codes.InvalidArgument},
		{"id check char", func(d *intakev1.Dispute) { d.Claimant.IdNumber = "110105194912310021" }, []string{"dispute.claimant.id_number"}, codes.InvalidArgument},
		{"id born in the future", func(d *intakev1.Dispute) { d.Claimant.IdNumber = futureID }, []string{"dispute.claimant.id_number"}, codes.InvalidArgument},
		{"id on an employer", func(d *intakev1.Dispute) { d.Claimant.Kind = typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER }, []string{"dispute.claimant.id_number"}, codes.InvalidArgument},
		{"credit code on an individual", func(d *intakev1.Dispute) { d.Claimant.CreditCode = creditCode }, []string{"dispute.claimant.credit_code"}, codes.InvalidArgument},
		{"credit code check char", func(d *intakev1.Dispute) {
			d.Claimant.Kind, d.Claimant.IdNumber, d.Claimant.CreditCode = typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER, "", "91350100M000100Y44"
		}, []string{"dispute.claimant.credit_code"}, codes.InvalidArgument},
		{"employer credit code", func(d *intakev1.Dispute) { d.EmployerCreditCode = "91350100M000100Y4Z" }, []string{"dispute.employer_credit_code"}, codes.InvalidArgument},
		{"unknown registering department", func(d *intakev1.Dispute) { d.RegisteringDepartment = "police" }, []string{"dispute.registering_department"}, codes.InvalidArgument},
		{"registering department not an intake point", func(d *intakev1.Dispute) { d.RegisteringDepartment = "finance" }, []string{"dispute.registering_department"}, codes.InvalidArgument},
		{"unknown proposed department", func(d *intakev1.Dispute) { d.ProposedDepartment = "police" }, []string{"dispute.proposed_department"}, codes.InvalidArgument},
		{"unknown jurisdiction", func(d *intakev1.Dispute) { d.Jurisdiction = "141181999" }, []string{"dispute.jurisdiction"}, codes.InvalidArgument},
		{"12345 without work order", func(d *intakev1.Dispute) { d.Channel = typesv1.Channel_CHANNEL_HOTLINE_12345 }, []string{"dispute.external_ref"}, codes.InvalidArgument},
		{"empty complaint", func(d *intakev1.Dispute) { d.Complaint = "" }, []string{"dispute.complaint"}, codes.InvalidArgument},
		{"visit in the future", func(d *intakev1.Dispute) { d.VisitTime = timestamppb.New(e.clock.Now().Add(time.Hour)) }, []string{"dispute.visit_time"}, codes.InvalidArgument},
		{"delivery address too long", func(d *intakev1.Dispute) { d.DeliveryAddress = strings.Repeat("路", 201) }, []string{"dispute.delivery_address"}, codes.InvalidArgument},
		{"all rule violations together", func(d *intakev1.Dispute) {
			d.Claimant.Phone, d.Claimant.IdNumber = "1", "1"
			d.ProposedDepartment, d.Jurisdiction = "police", "1"
			d.Channel = typesv1.Channel_CHANNEL_HOTLINE_12345
		}, []string{"dispute.claimant.phone", "dispute.claimant.id_number", "dispute.proposed_department",
			"dispute.jurisdiction", "dispute.external_ref"}, codes.InvalidArgument},
		{"another intake point department", func(d *intakev1.Dispute) { d.RegisteringDepartment = "hrss" }, nil, codes.PermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := validForm()
			tc.edit(d)
			_, err := clerk.RegisterDispute(clerk.ctx(t), &intakev1.RegisterDisputeRequest{
				Parent: parent, RequestId: "bad-" + strings.ReplaceAll(tc.name, " ", "-"), Dispute: d,
			})
			wantCode(t, err, tc.code, "")
			if tc.fields == nil {
				return
			}
			var got []string
			for _, v := range apierr.FieldViolations(err) {
				got = append(got, v.Field)
			}
			if d := cmp.Diff(tc.fields, got); d != "" {
				t.Errorf("violated fields (-want +got):\n%s\n%v", d, err)
			}
		})
	}

	ctx := clerk.ctx(t)
	if keys, err := e.redis.AdminClient(t).Keys(ctx, store.Service+":*").Result(); err != nil || len(keys) != 0 {
		t.Fatalf("refused forms left keys in Redis (err %v), want none: %v", err, keys)
	}
	resp, err := clerk.RegisterDispute(ctx, &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: "good", Dispute: validForm()})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetDispute().GetNumber(); got != number(e, 1) {
		t.Errorf("first valid registration after refusals got %q, want %q", got, number(e, 1))
	}
}

func checkChar(t *testing.T, first17 string) byte {
	c, ok := dispute.IDCheckChar(first17)
	if !ok {
		t.Fatalf("IDCheckChar(%q)", first17)
	}
	return c
}

func TestRegisterAuthorization(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	req := func() *intakev1.RegisterDisputeRequest {
		return &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: "req-1", Dispute: validForm()}
	}
	for _, tc := range []struct {
		name   string
		c      caller
		parent string
		code   codes.Code
		reason string
	}{
		{"another department's clerk", e.as(conn, region, "hrss", "clerk2", "clerk"), parent, codes.PermissionDenied, dispute.ReasonDepartmentMismatch},
		{"handler is no clerk", e.as(conn, region, "tax", "h1", "handler"), parent, codes.PermissionDenied, apierr.ReasonPermissionDenied},
		{"office is no clerk", e.as(conn, region, "tax", "o1", "office"), parent, codes.PermissionDenied, apierr.ReasonPermissionDenied},
		{"another region's clerk", e.as(conn, "141182", "tax", "clerk3", "clerk"), parent, codes.PermissionDenied, dispute.ReasonRegionMismatch},
		{"region without roster", e.as(conn, "141182", "tax", "clerk3", "clerk"), "regions/141182", codes.FailedPrecondition, grpcapi.ReasonNoRoster},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req()
			r.Parent = tc.parent
			_, err := tc.c.RegisterDispute(tc.c.ctx(t), r)
			wantCode(t, err, tc.code, tc.reason)
		})
	}
	t.Run("no token", func(t *testing.T) {
		_, err := intakev1.NewIntakeServiceClient(conn).RegisterDispute(t.Context(), req())
		wantCode(t, err, codes.Unauthenticated, apierr.ReasonUnauthenticated)
	})
	t.Run("foreign token", func(t *testing.T) {
		other := newKeyCaller(t, conn)
		_, err := other.RegisterDispute(other.ctx(t), req())
		wantCode(t, err, codes.Unauthenticated, apierr.ReasonTokenInvalid)
	})
	// Only intake's own keys: the consumer group on routing's stream
	// creates that stream whenever it starts.
	if keys, _ := e.redis.AdminClient(t).Keys(t.Context(), store.Service+":*").Result(); len(keys) != 0 {
		t.Errorf("refused calls left keys in Redis: %v", keys)
	}
}

func TestRegisterIdempotent(t *testing.T) {
	e := newEnv(t)
	clerk := e.as(e.start(), region, "tax", "clerk1", "clerk")
	req := &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: "req-1", Dispute: validForm()}
	first, err := clerk.RegisterDispute(clerk.ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(e.clock.Now().Add(time.Minute)) // a retry arrives later
	again, err := clerk.RegisterDispute(clerk.ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh instance (another replica, or a restart) on the same Redis.
	fresh := e.as(e.start(), region, "tax", "clerk1", "clerk")
	third, err := fresh.RegisterDispute(fresh.ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range []*intakev1.RegisterDisputeResponse{again, third} {
		if !r.GetReplayed() {
			t.Errorf("retry %d: replayed = false", i+1)
		}
		if d := cmp.Diff(first.GetDispute(), r.GetDispute(), protocmp.Transform()); d != "" {
			t.Errorf("retry %d returned another dispute (-first +retry):\n%s", i+1, d)
		}
	}
	if n, _ := e.rdb.XLen(t.Context(), events.Stream(store.Service, region)).Result(); n != 1 {
		t.Errorf("stream has %d events, want 1", n)
	}
	next, err := clerk.RegisterDispute(clerk.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: "req-2", Dispute: validForm()})
	if err != nil {
		t.Fatal(err)
	}
	if got := next.GetDispute().GetNumber(); got != number(e, 2) {
		t.Errorf("next number = %q, want %q", got, number(e, 2))
	}
}

// TestRequestIDPerDepartment: a request id is one department's: another
// department's registration under it is its own, and the department's own
// retry replays only the form it first sent.
func TestRequestIDPerDepartment(t *testing.T) {
	e := newEnv(t)
	conn := e.start()
	tax := e.as(conn, region, "tax", "clerk1", "clerk")
	hrss := e.as(conn, region, "hrss", "clerk2", "clerk")
	const x = "window-2026-0001"
	taxForm := validForm()
	first, err := tax.RegisterDispute(tax.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: x, Dispute: taxForm})
	if err != nil {
		t.Fatal(err)
	}

	// hrss, the same request id, another person: its own new dispute.
	hrssForm := validForm()
	hrssForm.RegisteringDepartment = "hrss"
	hrssForm.Claimant = &intakev1.Claimant{Kind: typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL, Name: "李四", Phone: "13900001111"}
	other, err := hrss.RegisterDispute(hrss.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: x, Dispute: hrssForm})
	if err != nil {
		t.Fatal(err)
	}
	if other.GetReplayed() || other.GetDispute().GetName() == first.GetDispute().GetName() ||
		other.GetDispute().GetNumber() != number(e, 2) || other.GetDispute().GetClaimant().GetName() != "李四" {
		t.Fatalf("hrss under tax's request id got %v replayed=%v, want its own new dispute %s",
			other.GetDispute().GetName(), other.GetReplayed(), number(e, 2))
	}

	// tax, the same request id, another form: refused, naming nothing of
	// the first registration.
	changed := validForm()
	changed.Complaint = "另一件事"
	_, err = tax.RegisterDispute(tax.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: x, Dispute: changed})
	wantCode(t, err, codes.AlreadyExists, grpcapi.ReasonRequestIDReused)
	st := status.Convert(err)
	said := st.Message() + " " + prototext.Format(st.Proto())
	d := first.GetDispute()
	for _, secret := range []string{d.GetName(), d.GetNumber(), strings.TrimPrefix(d.GetName(), parent+"/disputes/"),
		d.GetClaimant().GetName(), phone, idNumber, d.GetComplaint(), d.GetLookupCode()} {
		if secret != "" && strings.Contains(said, secret) {
			t.Errorf("refusal reveals %q of the first registration: %s", secret, said)
		}
	}

	// tax, the same request id and form: the first dispute again.
	again, err := tax.RegisterDispute(tax.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: x, Dispute: validForm()})
	if err != nil {
		t.Fatal(err)
	}
	if !again.GetReplayed() || again.GetDispute().GetNumber() != d.GetNumber() || again.GetDispute().GetName() != d.GetName() {
		t.Fatalf("identical retry: %s replayed=%v, want a replay of %s", again.GetDispute().GetNumber(), again.GetReplayed(), d.GetNumber())
	}
	// hrss's retry replays its own.
	hrssAgain, err := hrss.RegisterDispute(hrss.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: x, Dispute: hrssForm})
	if err != nil {
		t.Fatal(err)
	}
	if !hrssAgain.GetReplayed() || hrssAgain.GetDispute().GetName() != other.GetDispute().GetName() {
		t.Fatalf("hrss retry: %s replayed=%v, want a replay of %s", hrssAgain.GetDispute().GetName(), hrssAgain.GetReplayed(), other.GetDispute().GetName())
	}
	if n, _ := e.rdb.Get(t.Context(), store.SequenceKey(region, dispute.Year(e.clock.Now()))).Result(); n != "2" {
		t.Errorf("sequence = %s, want 2 (no number for a refusal or a replay)", n)
	}
}

func TestRegisterDuplicateExternalRef(t *testing.T) {
	e := newEnv(t)
	clerk := e.as(e.start(), region, "approval", "clerk9", "clerk")
	hotline := func(ref string) *intakev1.Dispute {
		d := validForm()
		d.RegisteringDepartment, d.Channel, d.ExternalRef = "approval", typesv1.Channel_CHANNEL_HOTLINE_12345, ref
		return d
	}
	if _, err := clerk.RegisterDispute(clerk.ctx(t), &intakev1.RegisterDisputeRequest{
		Parent: parent, RequestId: "req-1", Dispute: hotline("12345-2026-0001"),
	}); err != nil {
		t.Fatal(err)
	}
	_, err := clerk.RegisterDispute(clerk.ctx(t), &intakev1.RegisterDisputeRequest{
		Parent: parent, RequestId: "req-2", Dispute: hotline("12345-2026-0001"),
	})
	wantCode(t, err, codes.AlreadyExists, grpcapi.ReasonExternalRefExists)
	if !strings.Contains(err.Error(), name(e, 1)) {
		t.Errorf("error %q does not name the existing dispute %s", err, name(e, 1))
	}
	resp, err := clerk.RegisterDispute(clerk.ctx(t), &intakev1.RegisterDisputeRequest{
		Parent: parent, RequestId: "req-3", Dispute: hotline("12345-2026-0002"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetDispute().GetNumber(); got != number(e, 2) {
		t.Errorf("number after a refused duplicate = %q, want %q (none consumed)", got, number(e, 2))
	}
}

// TestRegisterConcurrentNumbering registers concurrentN disputes at once
// through two instances sharing one Redis: the numbers are exactly
// 1..concurrentN, none lost, none twice.
func TestRegisterConcurrentNumbering(t *testing.T) {
	e := newEnv(t)
	clerks := []caller{
		e.as(e.start(), region, "tax", "clerk1", "clerk"),
		e.as(e.start(), region, "tax", "clerk2", "clerk"),
	}
	const workers = 64
	var (
		mu      sync.Mutex
		numbers = map[string]int{}
		errs    []error
		wg      sync.WaitGroup
		work    = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := range work {
				c := clerks[i%len(clerks)]
				resp, err := c.RegisterDispute(c.ctx(t), &intakev1.RegisterDisputeRequest{
					Parent: parent, RequestId: fmt.Sprint("req-", i), Dispute: validForm(),
				})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					numbers[resp.GetDispute().GetNumber()]++
				}
				mu.Unlock()
			}
		})
	}
	for i := 0; i < concurrentN; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d registrations failed, first: %v", len(errs), errs[0])
	}
	for n := 1; n <= concurrentN; n++ {
		if c := numbers[number(e, n)]; c != 1 {
			t.Errorf("number %s allocated %d times, want once", number(e, n), c)
		}
	}
	if len(numbers) != concurrentN {
		t.Errorf("%d distinct numbers, want %d", len(numbers), concurrentN)
	}
	// Every registration of the same claimant and category is also linked
	// (DisputesLinked); count the registrations.
	if n := countEvents(t, e, &intakev1.DisputeRegistered{}); n != concurrentN {
		t.Errorf("stream has %d DisputeRegistered events, want %d", n, concurrentN)
	}
}

func TestLogsHoldNoPersonalNumbers(t *testing.T) {
	e := newEnv(t)
	clerk := e.as(e.start(), region, "tax", "clerk1", "clerk")
	d := validForm()
	d.Claimant.Phone = "1" // refused: the error names the field, not the value
	clerk.RegisterDispute(clerk.ctx(t), &intakev1.RegisterDisputeRequest{Parent: parent, RequestId: "r0", Dispute: d})
	if _, err := clerk.RegisterDispute(clerk.ctx(t), &intakev1.RegisterDisputeRequest{
		Parent: parent, RequestId: "r1", Dispute: validForm(),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := clerk.ListDisputes(clerk.ctx(t), &intakev1.ListDisputesRequest{Parent: parent, ClaimantPhone: phone}); err != nil {
		t.Fatal(err)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "RegisterDispute") {
		t.Fatalf("no RPC log lines captured:\n%s", logs)
	}
	for _, secret := range []string{phone, idNumber, idNumber[6:14]} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}
