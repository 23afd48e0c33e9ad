package tracker

import (
	"fmt"
	"time"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/routing/internal/clock"
	"github.com/xiaoyi-disputes/disputes/routing/internal/remedy"
)

// Issuer is who issues the written reply; values match routing.v1.ReplyIssuer.
type Issuer int32

// Issuers.
const (
	// IssuerHolder: the holding department (its own duty or a transfer).
	IssuerHolder Issuer = 1
	// IssuerOffice: 联席会议办公室, the decision of a general matter.
	IssuerOffice Issuer = 2
	// IssuerPlatform: the mediation platform's outcome of a major matter.
	IssuerPlatform Issuer = 3
)

func issuerOf(act Action) Issuer {
	switch act {
	case ActDecide:
		return IssuerOffice
	case ActPlatformOutcome:
		return IssuerPlatform
	}
	return IssuerHolder
}

// DeliveryMethod is how the reply reached the claimant (送达方式); values
// match routing.v1.DeliveryMethod.
type DeliveryMethod int32

// Delivery methods.
const (
	DeliveryDirect       DeliveryMethod = 1 // 直接送达
	DeliveryMail         DeliveryMethod = 2 // 邮寄送达
	DeliveryElectronic   DeliveryMethod = 3 // 电子送达
	DeliveryLeft         DeliveryMethod = 4 // 留置送达
	DeliveryEntrusted    DeliveryMethod = 5 // 委托送达
	DeliveryPublicNotice DeliveryMethod = 6 // 公告送达
)

// Delivery is the record of the written reply reaching the claimant (送达).
type Delivery struct {
	Method DeliveryMethod `json:"method"`
	// Date is the day of delivery, "YYYY-MM-DD" in China.
	Date       string    `json:"date"`
	Recipient  string    `json:"recipient,omitempty"`
	Note       string    `json:"note,omitempty"`
	Actor      Actor     `json:"actor"`
	RecordTime time.Time `json:"record_time"`
}

// DeliveryInput is a delivery as its recorder gives it.
type DeliveryInput struct {
	Method          DeliveryMethod
	Date            string
	Recipient, Note string
}

// ActDeliver records the delivery of the reply; it moves nothing.
const ActDeliver Action = "record_delivery"

// RecordDelivery records how and when the written reply reached the
// claimant (送达): by the holder or the office, once, while the dispute is
// REPLIED. The remedies' last dates and the objection window are counted
// again from the delivery date, as the periods run from the day the
// claimant received the letter (《中华人民共和国行政复议法》第二十条: 自知道
// 该行政行为之日起; 《信访工作条例》第三十五条: 自收到书面答复之日起).
func (t *Tracker) RecordDelivery(c Caller, in DeliveryInput, cal Calendar, now time.Time) (*Delivery, error) {
	if !t.CanView(c) {
		return nil, deny("department %s has no part in %s", c.Department, t.Name)
	}
	if err := t.require(ActDeliver, Replied); err != nil {
		return nil, err
	}
	if c.Department != t.Holder && !c.Office {
		return nil, deny("only the holding department %s or the office may record the delivery of the reply to %s", t.Holder, t.Name)
	}
	if t.Reply == nil {
		return nil, refuse("NO_REPLY", "%s has no written reply to deliver", t.Number)
	}
	if d := t.Reply.Delivery; d != nil {
		return nil, refuse("DELIVERY_ALREADY_RECORDED", "the delivery of the reply to %s was recorded already: %s", t.Number, d.Date)
	}
	if in.Method < DeliveryDirect || in.Method > DeliveryPublicNotice {
		return nil, &ValidationError{Field: "method", Reason: "must be a delivery method"}
	}
	day, err := time.ParseInLocation(time.DateOnly, in.Date, clock.China)
	if err != nil {
		return nil, &ValidationError{Field: "delivery_date", Reason: "must be a date YYYY-MM-DD"}
	}
	if day.Before(clock.Day(t.Reply.Time)) {
		return nil, &ValidationError{Field: "delivery_date", Reason: fmt.Sprintf("must not be before the reply of %s", date(t.Reply.Time))}
	}
	if day.After(clock.Day(now)) {
		return nil, &ValidationError{Field: "delivery_date", Reason: "must not be in the future"}
	}
	rules := cal.Rules(t.Region)
	kinds := make([]typesv1.Remedy, 0, len(t.Reply.Remedies))
	for _, d := range t.Reply.Remedies {
		kinds = append(kinds, d.Remedy)
	}
	rs, err := remedy.Deadlines(kinds, day, rules.Calendar)
	if err != nil {
		return nil, &ValidationError{Field: "remedies", Reason: err.Error()}
	}
	for i := range rs {
		if i < len(t.Reply.Remedies) {
			rs[i].Authority = t.Reply.Remedies[i].Authority
		}
	}
	d := &Delivery{Method: in.Method, Date: day.Format(time.DateOnly), Recipient: in.Recipient, Note: in.Note, Actor: c.Actor, RecordTime: now}
	t.Reply.Remedies = rs
	t.Reply.Delivery = d
	t.ObjectionWindowEnd = rules.Calendar.AddCalendarDays(day, rules.ObjectionWindowDays)
	t.Version++
	return d, nil
}
