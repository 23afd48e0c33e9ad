package mask

import (
	"regexp"
	"strings"
	"testing"
)

var (
	// digitToken is a maximal run of digits, with the X that ends an ID.
	digitToken = regexp.MustCompile(`[0-9]+[Xx]?`)
	mobileOnly = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	idOnly     = regexp.MustCompile(`^` + inTextIDRE.String() + `$`)
)

// FuzzString checks that String never panics, never grows the text (it only
// turns characters of numbers into '*'), and leaves no whole mobile or
// 18-character ID number standing on its own.
func FuzzString(f *testing.F) {
	for _, seed := range []string{
		"", "13812341234", "申请人电话13812341234，身份证14230119900101123X。", "tel: 138 1234 1234",
		"+8613812341234", "11010519491231002x", "91350100M000100Y43", "0358-1234567", "03581234567",
		"142301900101123", "6222138123412345678", "1381234123413812341234", "13812341234-13812341234",
		"86 13812341234", "142301199001011234142301199001011234", "ＡＢ13812341234",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := String(in)
		if len(out) > len(in) {
			t.Fatalf("String(%q) = %q grew", in, out)
		}
		for _, tok := range digitToken.FindAllString(out, -1) {
			if mobileOnly.MatchString(tok) || idOnly.MatchString(tok) {
				t.Fatalf("String(%q) = %q leaves %q whole", in, out, tok)
			}
		}
		if !strings.Contains(in, "*") && strings.Count(out, "*") == 0 && out != in {
			t.Fatalf("String(%q) = %q changed text without masking", in, out)
		}
	})
}

// FuzzPhone checks Phone never panics and never returns a whole mobile.
func FuzzPhone(f *testing.F) {
	for _, seed := range []string{"13812341234", "+86 13812341234", "0358-1234567", "", "1", "138-1234-1234"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Phone(in)
		for _, tok := range digitToken.FindAllString(out, -1) {
			if mobileOnly.MatchString(tok) {
				t.Fatalf("Phone(%q) = %q leaves %q whole", in, out, tok)
			}
		}
	})
}
