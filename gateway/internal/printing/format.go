package printing

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// china is the time zone every printed date is written in. China has one
// zone and no daylight saving, so a fixed offset needs no tz database.
var china = names.China

// dateTime writes a time as on the forms: "2026年3月1日 10:20"; "" for none.
func dateTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	t := ts.AsTime().In(china)
	return fmt.Sprintf("%d年%d月%d日 %02d:%02d", t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute())
}

// date writes the day only: "2026年3月1日"; "" for none.
func date(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	t := ts.AsTime().In(china)
	return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
}

// isoDate rewrites "2026-05-01" as "2026年5月1日"; other text is kept.
func isoDate(s string) string {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return s
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
}

// paragraphs splits free text into its non-empty lines.
func paragraphs(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

var categoryNames = map[typesv1.Category]string{
	typesv1.Category_CATEGORY_REGISTRATION_TRANSFER: "社会保险费登记和关系转移",
	typesv1.Category_CATEGORY_INFORMATION_EXCHANGE:  "社会保险费登记信息传递",
	typesv1.Category_CATEGORY_BASE_DECLARATION:      "缴费基数申报",
	typesv1.Category_CATEGORY_CONTRIBUTION_AMOUNT:   "缴费金额",
	typesv1.Category_CATEGORY_SPECIAL_ASSESSMENT:    "特殊缴费应征金额核定",
	typesv1.Category_CATEGORY_LATE_FEE:              "滞纳金加收",
	typesv1.Category_CATEGORY_REFUND_OFFSET:         "退（抵）费",
	typesv1.Category_CATEGORY_BENEFITS:              "待遇核定和支付",
	typesv1.Category_CATEGORY_INSPECTION_ARREARS:    "征缴检查、欠费追缴",
	typesv1.Category_CATEGORY_OTHER:                 "其它争议事项",
}

var channelNames = map[typesv1.Channel]string{
	typesv1.Channel_CHANNEL_WINDOW:        "窗口来访",
	typesv1.Channel_CHANNEL_PHONE:         "来电",
	typesv1.Channel_CHANNEL_HOTLINE_12345: "12345热线",
	typesv1.Channel_CHANNEL_PETITION:      "信访",
	typesv1.Channel_CHANNEL_ONLINE:        "网上",
	typesv1.Channel_CHANNEL_INTER_AGENCY:  "部门移送",
}

var kindNames = map[typesv1.ClaimantKind]string{
	typesv1.ClaimantKind_CLAIMANT_KIND_EMPLOYER:   "用人单位",
	typesv1.ClaimantKind_CLAIMANT_KIND_INDIVIDUAL: "个人",
}

var remedyNames = map[typesv1.Remedy]string{
	typesv1.Remedy_REMEDY_MEDIATION:                      "调解",
	typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION: "行政复议",
	typesv1.Remedy_REMEDY_ARBITRATION:                    "劳动人事争议仲裁",
	typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION:      "行政诉讼",
	typesv1.Remedy_REMEDY_REVIEW_REQUEST:                 "复查",
}

// authorityLabels say what kind of body a remedy goes to, as the letter
// names it before the body's name.
var authorityLabels = map[typesv1.Remedy]string{
	typesv1.Remedy_REMEDY_MEDIATION:                      "调解组织",
	typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION: "复议机关",
	typesv1.Remedy_REMEDY_ARBITRATION:                    "仲裁机构",
	typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION:      "管辖法院",
	typesv1.Remedy_REMEDY_REVIEW_REQUEST:                 "复查机关",
}

// named returns the Chinese name of an enum value, or its identifier when
// the value is newer than this table.
func named[E interface {
	comparable
	String() string
}](names map[E]string, v E) string {
	if n, ok := names[v]; ok {
		return n
	}
	return v.String()
}
