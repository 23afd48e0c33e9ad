package printing

import (
	"strconv"
	"strings"

	"github.com/xiaoyi-disputes/disputes/platform/mask"
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
	Error   *pageError
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

// reply is the written reply to the claimant (书面告知书).
type reply struct {
	Number, ClaimantName  string
	Honorific             string
	RegisterDate          string
	RegisteringDepartment string
	Outcome               string
	Text                  string
	Remedies              []remedyLine
	Department            string
	Date                  string
}

// remedyLine is one remedy with its last date and legal basis.
type remedyLine struct{ Name, LastDate, Basis string }

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
		Department:            f.unit(r.GetActor().GetDepartment()),
		Date:                  date(r.GetReplyTime()),
	}
	if d.GetClaimant().GetKind() == typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER {
		v.Honorific = "贵单位"
	}
	for _, m := range r.GetRemedies() {
		line := remedyLine{Name: named(remedyNames, m.GetRemedy()), Basis: m.GetBasis()}
		if m.GetLastDate() != "" {
			line.LastDate = isoDate(m.GetLastDate())
		}
		v.Remedies = append(v.Remedies, line)
	}
	return v
}
