package tracker

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/remedy"
)

// TestRecordDelivery: the remedies' last dates and the objection window
// count from the delivery, not from the reply.
func TestRecordDelivery(t *testing.T) {
	replyAt := time.Date(2026, 3, 31, 10, 0, 0, 0, remedy.China)
	newReplied := func(t *testing.T) *Tracker {
		tr := handling(t)
		if _, err := tr.RecordReply(caller("tax", false), ReplyInput{
			Outcome: "维持", Text: "经核查, 滞纳金计算无误",
			Remedies: []typesv1.Remedy{typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION, typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION},
		}, shortWindow(), replyAt); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	tr := newReplied(t)
	if tr.Reply.Issuer != IssuerHolder {
		t.Errorf("issuer of a holder's reply = %v", tr.Reply.Issuer)
	}
	version := tr.Version
	now := time.Date(2026, 4, 13, 16, 0, 0, 0, remedy.China)
	refusals := []struct {
		name  string
		c     Caller
		in    DeliveryInput
		field string
		deny  bool
	}{
		{"another department", caller("hrss", false), DeliveryInput{Method: DeliveryMail, Date: "2026-04-10"}, "", true},
		{"no method", caller("tax", false), DeliveryInput{Date: "2026-04-10"}, "method", false},
		{"not a date", caller("tax", false), DeliveryInput{Method: DeliveryMail, Date: "2026-04-31"}, "delivery_date", false},
		{"before the reply", caller("tax", false), DeliveryInput{Method: DeliveryMail, Date: "2026-03-30"}, "delivery_date", false},
		{"in the future", caller("tax", false), DeliveryInput{Method: DeliveryMail, Date: "2026-04-14"}, "delivery_date", false},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			_, err := tr.RecordDelivery(r.c, r.in, shortWindow(), now)
			var ve *ValidationError
			switch {
			case r.deny && !errors.Is(err, ErrPermissionDenied):
				t.Fatalf("err = %v, want permission denied", err)
			case !r.deny && (!errors.As(err, &ve) || ve.Field != r.field):
				t.Fatalf("err = %v, want a violation of %s", err, r.field)
			}
			if tr.Version != version || tr.Reply.Delivery != nil {
				t.Fatal("a refused delivery changed the tracker")
			}
		})
	}

	// Posted on the reply day, received Friday 10 April.
	d, err := tr.RecordDelivery(caller("tax", false), DeliveryInput{Method: DeliveryMail, Date: "2026-04-10", Recipient: "张三", Note: "EMS 1234"}, shortWindow(), now)
	if err != nil {
		t.Fatal(err)
	}
	if d.Date != "2026-04-10" || d.Actor.Department != "tax" || tr.Reply.Delivery != d || tr.Version != version+1 || tr.State != Replied {
		t.Fatalf("delivery %+v, version %d, state %v", d, tr.Version, tr.State)
	}
	var dates []string
	for _, r := range tr.Reply.Remedies {
		dates = append(dates, r.Remedy.String()+" "+r.LastDate)
	}
	// 10 Apr + 60 days = Tue 9 Jun; + 6 months = Sat 10 Oct, rolled to Mon 12 Oct.
	if diff := cmp.Diff([]string{"REMEDY_ADMINISTRATIVE_RECONSIDERATION 2026-06-09", "REMEDY_ADMINISTRATIVE_LITIGATION 2026-10-12"}, dates); diff != "" {
		t.Fatalf("remedies from delivery (-want +got):\n%s", diff)
	}
	// 10 Apr + 15 days = Sat 25 Apr, rolled to Mon 27 Apr.
	if want := time.Date(2026, 4, 27, 23, 59, 59, 0, remedy.China); !tr.ObjectionWindowEnd.Equal(want) {
		t.Fatalf("objection window ends %v, want %v", tr.ObjectionWindowEnd, want)
	}
	_, err = tr.RecordDelivery(caller("tax", false), DeliveryInput{Method: DeliveryDirect, Date: "2026-04-11"}, shortWindow(), now)
	wantRefused(t, err, "DELIVERY_ALREADY_RECORDED", "2026-04-10")

	t.Run("not before the reply", func(t *testing.T) {
		tr := handling(t)
		_, err := tr.RecordDelivery(caller("tax", false), DeliveryInput{Method: DeliveryDirect, Date: "2026-03-02"}, shortWindow(), now)
		wantErr(t, err, ErrIllegalTransition, "DISPUTE_STATE_HANDLING")
	})
	t.Run("by the office", func(t *testing.T) {
		tr := newReplied(t)
		if _, err := tr.RecordDelivery(office(), DeliveryInput{Method: DeliveryDirect, Date: "2026-03-31"}, shortWindow(), now); err != nil {
			t.Fatal(err)
		}
	})
}
