package legal

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	configv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/config/v1"
	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"
	"github.com/xiaoyi-disputes/disputes/routing/internal/remedy"
	"github.com/xiaoyi-disputes/disputes/routing/internal/tracker"
)

var xiaoyi = &configv1.LegalInfo{
	OfficeName:   "孝义市社会保险费征缴争议联合处置工作联席会议办公室",
	PlatformName: "中共孝义市委政法委员会一站式矛盾纠纷调处平台",
	ReconsiderationBodies: []*configv1.ReconsiderationBody{
		{Unit: "tax", Body: "国家税务总局吕梁市税务局"},
	},
	DefaultReconsiderationBody: "孝义市人民政府",
	Court:                      "孝义市人民法院",
	ArbitrationBody:            "孝义市劳动人事争议仲裁委员会",
}

func TestApply(t *testing.T) {
	all := []typesv1.Remedy{
		typesv1.Remedy_REMEDY_ADMINISTRATIVE_RECONSIDERATION, typesv1.Remedy_REMEDY_ADMINISTRATIVE_LITIGATION,
		typesv1.Remedy_REMEDY_ARBITRATION, typesv1.Remedy_REMEDY_REVIEW_REQUEST,
	}
	for _, tc := range []struct {
		name       string
		issuer     tracker.Issuer
		unit       string
		issuerName string
		want       []string
	}{
		{"the tax bureau's own reply", tracker.IssuerHolder, "tax", "",
			[]string{"国家税务总局吕梁市税务局", "孝义市人民法院", "孝义市劳动人事争议仲裁委员会", ""}},
		{"HR's own reply: the city government", tracker.IssuerHolder, "hrss", "",
			[]string{"孝义市人民政府", "孝义市人民法院", "孝义市劳动人事争议仲裁委员会", ""}},
		{"the office's decision, hosted by the tax bureau", tracker.IssuerOffice, "tax", xiaoyi.OfficeName,
			[]string{"国家税务总局吕梁市税务局", "孝义市人民法院", "孝义市劳动人事争议仲裁委员会", ""}},
		{"the platform's outcome", tracker.IssuerPlatform, "tax", xiaoyi.PlatformName,
			[]string{"国家税务总局吕梁市税务局", "孝义市人民法院", "孝义市劳动人事争议仲裁委员会", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := remedy.Deadlines(all, time.Date(2026, 3, 31, 10, 0, 0, 0, remedy.China), remedy.Weekends{})
			if err != nil {
				t.Fatal(err)
			}
			r := &tracker.Reply{Issuer: tc.issuer, Remedies: rs}
			Apply(xiaoyi, r, tc.unit)
			var got []string
			for _, d := range r.Remedies {
				got = append(got, d.Authority)
			}
			if d := cmp.Diff(tc.want, got); d != "" || r.IssuerName != tc.issuerName {
				t.Errorf("issuer %q, authorities (-want +got):\n%s", r.IssuerName, d)
			}
		})
	}
	// A source without the region's data leaves the names empty.
	var none *Source
	r := &tracker.Reply{Issuer: tracker.IssuerOffice}
	none.Fill(r, "141181", "tax")
	if r.IssuerName != "" {
		t.Errorf("nil source named the issuer %q", r.IssuerName)
	}
}
