package gateway

import (
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestDecodeErrorNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		in        error
		wantField string // "" means the error passes unchanged
	}{
		{status.Error(codes.InvalidArgument, `proto: (line 1:141): invalid value for enum field category: "CATEGORY_NOPE"`), "category"},
		{status.Error(codes.InvalidArgument, `proto: (line 1:12): unknown field "claimantt"`), "claimantt"},
		{status.Error(codes.InvalidArgument, `proto: syntax error (line 1:2): invalid value x`), "body"},
		{status.Error(codes.InvalidArgument, `invalid argument: dispute.claimant.phone: must be ...`), ""},
		{status.Error(codes.NotFound, `proto: whatever`), ""},
		{errors.New("plain"), ""},
	} {
		out := decodeError(tc.in)
		if tc.wantField == "" {
			if out != tc.in {
				t.Errorf("%v was changed to %v", tc.in, out)
			}
			continue
		}
		st := status.Convert(out)
		var got string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) == 1 {
				got = br.GetFieldViolations()[0].GetField()
			}
		}
		if st.Code() != codes.InvalidArgument || got != tc.wantField {
			t.Errorf("%v: code %v field %q, want InvalidArgument naming %q", tc.in, st.Code(), got, tc.wantField)
		}
	}
}
