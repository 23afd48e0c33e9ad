package printing

import (
	"strconv"
	"strings"

	"github.com/xiaoyi-disputes/disputes/platform/mask"
	"github.com/xiaoyi-disputes/disputes/platform/names"
	routingv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/routing/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
)

// page is what the layout renders; one of its parts is set per page.
type page struct {
	Title   string
	Form    *form
	Receipt *receipt
	Slip    *slip
	Copies  []string
	Reply   *reply
	// Extension is the extension notice (延期告知书).
	Extension *extension
	Error     *pageError
}

// ErrorTitle, ErrorDetail, ErrorNote and ErrorStatus expose the error page's
// fields to the template.
func (p page) ErrorTitle() string  { return p.Error.title }
func (p page) ErrorDetail() string { return p.Error.detail }
func (p page) ErrorNote() string   { return p.Error.note }
func (p page) ErrorStatus() int    { return p.Error.status }

// form is the registration form (附件1) with its supplementary block.
type form struct {
	Number                string
	ClaimantName, Phone   string
	Complaint             string
	RegisteringDepartment string
	RegisteringStaff      string
	ProposedDepartment    string
	RegisterTime          string
	// Supplementary information (补充信息), below the seed's table.
	Extra []field
}

// field is one labelled line of the supplementary block.
type field struct{ Label, Value string }

// formView builds the form. masked hides the personal numbers (for paper
// that leaves the department); the department's own copy shows them in full
// because only staff allowed to read the dispute can print it.
func formView(f *fetched, masked bool) *form {
	d := f.dispute
	c := d.GetClaimant()
	phone, idNumber, creditCode := c.GetPhone(), c.GetIdNumber(), c.GetCreditCode()
	if masked {
		phone, idNumber, creditCode = mask.Phone(phone), mask.IDNumber(idNumber), mask.CreditCode(creditCode)
	}
	v := &form{
		Number:                d.GetNumber(),
		ClaimantName:          c.GetName(),
		Phone:                 phone,
		Complaint:             d.GetComplaint(),
		RegisteringDepartment: f.unit(d.GetRegisteringDepartment()),
		RegisteringStaff:      f.person(d.GetRegisteringStaff()),
		ProposedDepartment:    f.unit(d.GetProposedDepartment()),
		RegisterTime:          dateTime(d.GetRegisterTime()),
	}
	add := func(label, value string) {
		if strings.TrimSpace(value) != "" {
			v.Extra = append(v.Extra, field{label, value})
		}
	}
	add("诉求人类型", named(kindNames, c.GetKind()))
	add("身份证号码", idNumber)
	add("统一社会信用代码", creditCode)
	add("争议类别", named(categoryNames, d.GetCategory()))
	add("受理渠道", named(channelNames, d.GetChannel()))
	add("渠道编号", d.GetExternalRef())
	add("用人单位", d.GetEmployerName())
	add("用人单位信用代码", d.GetEmployerCreditCode())
	add("所属乡镇（街道）", f.place(d.GetJurisdiction()))
	if n := d.GetPeopleInvolved(); n > 0 {
		add("涉及人数", strconv.Itoa(int(n)))
	}
	add("首问责任人", f.person(d.GetFirstReceiver()))
	add("来访时间", dateTime(d.GetVisitTime()))
	add("送达地址", d.GetDeliveryAddress())
	add("关联事项", strings.Join(d.GetLinkedDisputes(), "、"))
	var atts []string
	for _, a := range d.GetAttachments() {
		atts = append(atts, a.GetName())
	}
	add("附件材料", strings.Join(atts, "、"))
	if d.GetMassDispute() {
		add("提示", "涉及人数较多的群体性事项")
	}
	return v
}

// receipt is the claimant's acknowledgement (受理回执).
type receipt struct {
	Number, ClaimantName, Phone string
	RegisterTime                string
	RegisteringDepartment       string
	RegisteringStaff            string
	LookupCode                  string
	Category                    string
	// Region is the region code the lookup page asks for.
	Region string
	// RouteBy is the day by which the dispute will be routed, when routing's
	// clock already runs.
	RouteBy string
}

func receiptView(f *fetched) *receipt {
	d := f.dispute
	v := &receipt{
		Number:                d.GetNumber(),
		ClaimantName:          d.GetClaimant().GetName(),
		Phone:                 mask.Phone(d.GetClaimant().GetPhone()),
		RegisterTime:          dateTime(d.GetRegisterTime()),
		RegisteringDepartment: f.unit(d.GetRegisteringDepartment()),
		RegisteringStaff:      f.person(d.GetRegisteringStaff()),
		LookupCode:            d.GetLookupCode(),
		Category:              named(categoryNames, d.GetCategory()),
	}
	v.Region, _, _ = names.DisputeID(d.GetName())
	for _, c := range f.tracking.GetClocks() {
		if c.GetStage() == routingv1.Stage_STAGE_ROUTING && c.GetDueTime() != nil {
			v.RouteBy = date(c.GetDueTime())
		}
	}
	return v
}

// slip is one transfer slip (附件2).
type slip struct {
	Number                string
	RegisteringDepartment string
	RegisteringStaff      string
	Opinion               string
	ReceivingDepartment   string
	Receiver              string
	ReceiveTime           string
	ReturnReason          string
}

// receiver names a slip's receiving department: the joint-meeting office,
// with its host unit, for a slip routed to the office.
func (f *fetched) receiver(id string) string {
	if id != "" && id == f.officeHost {
		return "联席会议办公室（" + f.unit(id) + "）"
	}
	return f.unit(id)
}

func slipView(f *fetched, s *routingv1.TransferSlip) *slip {
	return &slip{
		Number:                s.GetNumber(),
		RegisteringDepartment: f.unit(s.GetRegisteringDepartment()),
		RegisteringStaff:      f.person(s.GetRegisteringStaff()),
		Opinion:               s.GetOpinion(),
		ReceivingDepartment:   f.receiver(s.GetReceivingDepartment()),
		Receiver:              f.person(s.GetReceiver()),
		ReceiveTime:           dateTime(s.GetReceiveTime()),
		ReturnReason:          s.GetReturnReason(),
	}
}

// reply is the written reply to the claimant (书面告知书). It is built from
// the reply's own fields only (outcome, text, remedies, issuer, delivery):
// progress notes, routing opinions, the office's notes and every other
// internal record of the tracking never reach the claimant's letter.
type reply struct {
	Number, ClaimantName  string
	Honorific             string
	RegisterDate          string
	RegisteringDepartment string
	Outcome               string
	Text                  string
	Remedies              []remedyLine
	// Department is the issuer as it signs: the holding unit, the
	// joint-meeting office or the mediation platform.
	Department string
	Date       string
	// Delivered is the delivery date (送达日期) once recorded; the last
	// dates are printed only then, counted from it.
	Delivered      string
	DeliveryMethod string
}

// remedyLine is one remedy with its period, where to apply, its last date
// (once delivered) and legal basis.
type remedyLine struct{ Name, Period, AuthorityLabel, Authority, LastDate, Basis string }

// officeSuffix and platformSuffix name the office and the platform after
// the region's name when the region's legal data does not.
const (
	officeSuffix   = "社会保险费征缴争议联合处置工作联席会议办公室"
	platformSuffix = "一站式矛盾纠纷调处平台"
)

// issuer is the name the letter is issued under.
func issuer(f *fetched, r *routingv1.Reply) string {
	if r.GetIssuerName() != "" {
		return r.GetIssuerName()
	}
	switch r.GetIssuer() {
	case routingv1.ReplyIssuer_REPLY_ISSUER_OFFICE:
		return f.regionName + officeSuffix
	case routingv1.ReplyIssuer_REPLY_ISSUER_PLATFORM:
		return f.regionName + platformSuffix
	}
	return f.unit(r.GetActor().GetDepartment())
}

func replyView(f *fetched) *reply {
	d, r := f.dispute, f.tracking.GetReply()
	v := &reply{
		Number:                d.GetNumber(),
		ClaimantName:          d.GetClaimant().GetName(),
		Honorific:             "您",
		RegisterDate:          date(d.GetRegisterTime()),
		RegisteringDepartment: f.unit(d.GetRegisteringDepartment()),
		Outcome:               r.GetOutcome(),
		Text:                  r.GetText(),
		Department:            issuer(f, r),
		Date:                  date(r.GetReplyTime()),
	}
	if d.GetClaimant().GetKind() == typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER {
		v.Honorific = "贵单位"
	}
	if dl := r.GetDelivery(); dl != nil {
		v.Delivered = isoDate(dl.GetDeliveryDate())
		v.DeliveryMethod = deliveryMethodNames[dl.GetMethod()]
	}
	for _, m := range r.GetRemedies() {
		line := remedyLine{Name: named(remedyNames, m.GetRemedy()), Period: m.GetPeriod(),
			AuthorityLabel: authorityLabels[m.GetRemedy()], Authority: m.GetAuthority(), Basis: m.GetBasis()}
		if line.Authority == "" {
			// A region without legal data in etcd: the letter still says where.
			line.Authority = fallbackAuthorities[m.GetRemedy()]
		}
		if m.GetLastDate() != "" && v.Delivered != "" {
			line.LastDate = isoDate(m.GetLastDate())
		}
		v.Remedies = append(v.Remedies, line)
	}
	return v
}

// fallbackAuthorities name the body of a remedy in general terms when the
// reply carries none.
var fallbackAuthorities = map[typesv1.Remedy]string{
	typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION: "依法有管辖权的行政复议机关",
	typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION:      "依法有管辖权的人民法院",
}

// deliveryMethodNames are the delivery methods as the letter names them.
var deliveryMethodNames = map[routingv1.DeliveryMethod]string{
	routingv1.DeliveryMethod_DELIVERY_METHOD_DIRECT:        "直接送达",
	routingv1.DeliveryMethod_DELIVERY_METHOD_MAIL:          "邮寄送达",
	routingv1.DeliveryMethod_DELIVERY_METHOD_ELECTRONIC:    "电子送达",
	routingv1.DeliveryMethod_DELIVERY_METHOD_LEFT:          "留置送达",
	routingv1.DeliveryMethod_DELIVERY_METHOD_ENTRUSTED:     "委托送达",
	routingv1.DeliveryMethod_DELIVERY_METHOD_PUBLIC_NOTICE: "公告送达",
}

// extension is the notice of an extended handling period (延期告知书).
type extension struct {
	Number, ClaimantName  string
	Honorific             string
	RegisterDate          string
	RegisteringDepartment string
	Reason                string
	Days                  string
	NewDue                string
	Department            string
	Date                  string
}

func extensionView(f *fetched) *extension {
	d, t := f.dispute, f.tracking
	e := t.GetExtension()
	v := &extension{
		Number:                d.GetNumber(),
		ClaimantName:          d.GetClaimant().GetName(),
		Honorific:             "您",
		RegisterDate:          date(d.GetRegisterTime()),
		RegisteringDepartment: f.unit(d.GetRegisteringDepartment()),
		Reason:                e.GetReason(),
		Days:                  strconv.Itoa(int(e.GetDays())),
		Department:            f.unit(e.GetDecidedBy().GetDepartment()),
		Date:                  date(e.GetDecideTime()),
	}
	if d.GetClaimant().GetKind() == typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER {
		v.Honorific = "贵单位"
	}
	// The handling clock the extension lengthened, the latest one.
	for _, c := range t.GetClocks() {
		if c.GetStage() == routingv1.Stage_STAGE_HANDLING && c.GetExtensionDays() > 0 {
			v.NewDue = date(c.GetDueTime())
		}
	}
	return v
}
