package printing

import (
	"net/http"
	"strings"
	"testing"

	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

func wantInOrder(t *testing.T, body string, want ...string) {
	t.Helper()
	rest := body
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("page lacks %q (in order) in:\n%s", w, body)
		}
		rest = rest[i+len(w):]
	}
}

// TestReplyBeforeDelivery: until the delivery is recorded the letter states
// the periods counted from receipt and no last date.
func TestReplyBeforeDelivery(t *testing.T) {
	b := newBackend()
	b.tracking.Reply.Delivery = nil
	code, _, body := get(t, start(t, b), base+"reply", token)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d:\n%s", code, body)
	}
	wantInOrder(t, body, "<li>行政复议：自收到本告知书之日起六十日内申请行政复议，复议机关为孝义市人民政府。",
		"上述期限自您收到本告知书之日起计算。")
	for _, not := range []string{"最后一日", "2026年5月25日", "送达方式"} {
		if strings.Contains(body, not) {
			t.Errorf("undelivered letter shows %q", not)
		}
	}
}

// TestOfficeDecisionLetter: the office's decision is issued by the
// joint-meeting office, never by its host unit.
func TestOfficeDecisionLetter(t *testing.T) {
	for _, tc := range []struct{ name, issuerName, want string }{
		{"named in the region's legal data", "孝义市社会保险费征缴争议联合处置工作联席会议办公室", "孝义市社会保险费征缴争议联合处置工作联席会议办公室（盖章）"},
		{"named after the region", "", "孝义市社会保险费征缴争议联合处置工作联席会议办公室（盖章）"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend()
			b.roster.RegionName = "孝义市"
			b.tracking.Reply.Actor = &typesv1.Actor{Department: "tax", StaffId: "office1"}
			b.tracking.Reply.Issuer = routingv1.ReplyIssuer_REPLY_ISSUER_OFFICE
			b.tracking.Reply.IssuerName = tc.issuerName
			code, _, body := get(t, start(t, b), base+"reply", token)
			if code != http.StatusOK {
				t.Fatalf("HTTP %d:\n%s", code, body)
			}
			wantInOrder(t, body, tc.want)
			if strings.Contains(body, "市税务局（盖章）") {
				t.Error("the office's decision is signed by the host tax bureau")
			}
		})
	}
}

// TestRegistrationFormWindowFields: the visit time and the delivery address
// are on the 登记表.
func TestRegistrationFormWindowFields(t *testing.T) {
	b := newBackend()
	b.dispute.VisitTime = at("2026-03-01T01:45:00Z")
	b.dispute.DeliveryAddress = "孝义市新义街道府前街1号"
	b.dispute.EmployerName, b.dispute.EmployerCreditCode = "孝义市某煤业有限公司", "91350100M000100Y43"
	code, _, body := get(t, start(t, b), base+"registration-form", token)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d:\n%s", code, body)
	}
	wantInOrder(t, body, "用人单位", "孝义市某煤业有限公司", "用人单位信用代码", "91350100M000100Y43",
		"来访时间", "2026年3月1日 09:45", "送达地址", "孝义市新义街道府前街1号")
}

// TestExtensionNoticeNeedsApproval: no notice without an approved extension.
func TestExtensionNoticeNeedsApproval(t *testing.T) {
	for _, tc := range []struct {
		name string
		ext  *routingv1.Extension
	}{
		{"none requested", nil},
		{"pending", &routingv1.Extension{Days: 10, Reason: "复杂"}},
		{"declined", &routingv1.Extension{Days: 10, Reason: "复杂", Decided: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend()
			b.tracking.Extension = tc.ext
			code, _, body := get(t, start(t, b), base+"extension-notice", token)
			if code != http.StatusPreconditionFailed || !strings.Contains(body, "没有批准的延期") {
				t.Fatalf("HTTP %d, want 412:\n%s", code, body)
			}
		})
	}
}

// TestReplyWithoutLegalData: a reply recorded without the region's legal
// data still tells where to apply, in general terms.
func TestReplyWithoutLegalData(t *testing.T) {
	b := newBackend()
	for _, r := range b.tracking.Reply.Remedies {
		r.Authority = ""
	}
	code, _, body := get(t, start(t, b), base+"reply", token)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d:\n%s", code, body)
	}
	wantInOrder(t, body, "复议机关为依法有管辖权的行政复议机关", "管辖法院为依法有管辖权的人民法院")
}
