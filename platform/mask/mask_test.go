package mask

import "testing"

func TestPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13812341234", "138****1234"},
		{" 19912345678 ", "199****5678"},
		{"138-1234-1234", "138-****-1234"},
		{"+86 13812341234", "+86 138****1234"},
		{"010-12345678", "010-******78"},
		{"02187654321", "021******21"},
		{"0351-7654321", "0351-*****21"},
		{"87654321", "******21"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Phone(tt.in); got != tt.want {
				t.Fatalf("Phone(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIDNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"14230119900101123X", "142301********123X"},
		{"110105198512310018", "110105********0018"},
		{"142301900101123", "142301******123"},
		{"12345", "*****"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := IDNumber(tt.in); got != tt.want {
				t.Fatalf("IDNumber(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCreditCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"91110105MA01ABCD2X", "9111**********CD2X"},
		{"1234567", "*******"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := CreditCode(tt.in); got != tt.want {
				t.Fatalf("CreditCode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no numbers", "dispute registered", "dispute registered"},
		{"mobile", "call 13812341234 today", "call 138****1234 today"},
		{"mobile in chinese", "申请人电话13812341234，身份证14230119900101123X。", "申请人电话138****1234，身份证142301********123X。"},
		{"two mobiles", "13812341234,13987654321", "138****1234,139****4321"},
		{"grouped", "tel: 138 1234 1234", "tel: 138 **** 1234"},
		{"country code", "+8613812341234", "+86138****1234"},
		{"json", `{"phone":"13812341234"}`, `{"phone":"138****1234"}`},
		{"lower x", "id=14230119900101123x", "id=142301********123x"},
		{"longer run untouched", "account 6222138123412345678", "account 6222138123412345678"},
		{"case number untouched", "case 2024138123412340", "case 2024138123412340"},
		{"not a mobile", "12012345678", "12012345678"},
		{"credit code", "统一社会信用代码91350100M000100Y43。", "统一社会信用代码9135**********0Y43。"},
		{"credit code in json", `{"credit_code":"91110105MA01ABCD2X"}`, `{"credit_code":"9111**********CD2X"}`},
		{"longer token untouched", "digest ABCD91350100M000100Y43", "digest ABCD91350100M000100Y43"},
		{"old id number", "身份证142301900101123号", "身份证142301******123号"},
		{"landline with dash", "电话0358-1234567", "电话0358-*****67"},
		{"landline without dash", "tel 03581234567 ext", "tel 0358*****67 ext"},
		{"beijing landline", "010-12345678", "010-******78"},
		{"dispute name untouched", "regions/141181/disputes/2026-17", "regions/141181/disputes/2026-17"},
		{"time untouched", "2026-12-02T07:36:12Z", "2026-12-02T07:36:12Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Fatalf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
