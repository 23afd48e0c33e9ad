package apierr

import (
	"errors"
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

const phoneRule = "must be an 11-digit mainland mobile number starting 13-19 or a landline"

func TestInvalid(t *testing.T) {
	err := Invalid(Violation{Field: "dispute.claimant.phone", Reason: phoneRule})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code = %v", st.Code())
	}
	if want := "invalid argument: dispute.claimant.phone: " + phoneRule; st.Message() != want {
		t.Fatalf("message = %q, want %q", st.Message(), want)
	}
	if got := Reason(err); got != ReasonInvalidArgument {
		t.Fatalf("reason = %q", got)
	}
	if vs := FieldViolations(err); len(vs) != 1 || vs[0].Field != "dispute.claimant.phone" {
		t.Fatalf("violations = %v", vs)
	}
}

func TestNewAndReason(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"with reason", New(codes.NotFound, "DISPUTE_NOT_FOUND", "dispute 42 not found"), "DISPUTE_NOT_FOUND"},
		{"formatted", Newf(codes.Aborted, "STALE_ETAG", "etag %q is stale", "x"), "STALE_ETAG"},
		{"bare status", status.Error(codes.NotFound, "x"), ""},
		{"not a status", errors.New("x"), ""},
		{"nil", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Reason(tt.err); got != tt.want {
				t.Fatalf("Reason = %q, want %q", got, tt.want)
			}
		})
	}
}

// requestType builds, at run time, a message shaped like
// Req{dispute: Dispute{claimant: Claimant{phone}}} whose phone carries a
// buf.validate pattern rule, so FromValidation is tested on a real
// protovalidate result without generated code.
func requestType(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	rules := &validate.FieldRules{}
	sr := &validate.StringRules{}
	sr.SetPattern(`^1[3-9][0-9]{9}$`)
	rules.SetString(sr)
	phoneOpts := &descriptorpb.FieldOptions{}
	proto.SetExtension(phoneOpts, validate.E_Field, rules)

	msgField := func(name, typ string) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{
			Name: proto.String(name), Number: proto.Int32(1), JsonName: proto.String(name),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			Type:  descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: proto.String(typ),
		}
	}
	fdp := &descriptorpb.FileDescriptorProto{
		Name: proto.String("apierrtest/req.proto"), Package: proto.String("apierrtest"), Syntax: proto.String("proto3"),
		Dependency: []string{"buf/validate/validate.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Claimant"), Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("phone"), Number: proto.Int32(1), JsonName: proto.String("phone"),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
				Type:  descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Options: phoneOpts,
			}}},
			{Name: proto.String("Dispute"), Field: []*descriptorpb.FieldDescriptorProto{msgField("claimant", ".apierrtest.Claimant")}},
			{Name: proto.String("Req"), Field: []*descriptorpb.FieldDescriptorProto{msgField("dispute", ".apierrtest.Dispute")}},
		},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("Req")
}

func TestFromValidation(t *testing.T) {
	md := requestType(t)
	req := dynamicpb.NewMessage(md)
	dispute := req.Mutable(md.Fields().ByName("dispute")).Message()
	claimant := dispute.Mutable(md.Fields().ByName("dispute").Message().Fields().ByName("claimant")).Message()
	claimant.Set(claimant.Descriptor().Fields().ByName("phone"), protoreflect.ValueOfString("12345"))

	verr := protovalidate.Validate(req)
	if verr == nil {
		t.Fatal("Validate passed, want a violation")
	}
	err := FromValidation(verr)
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("code = %v (%v)", status.Code(err), err)
	}
	vs := FieldViolations(err)
	if len(vs) != 1 || vs[0].Field != "dispute.claimant.phone" || vs[0].Reason == "" {
		t.Fatalf("violations = %+v", vs)
	}
	if Reason(err) != ReasonInvalidArgument {
		t.Fatalf("reason = %q", Reason(err))
	}

	if got := FromValidation(errors.New("compile failed")); status.Code(got) != codes.Internal ||
		Reason(got) != ReasonInternal || status.Convert(got).Message() != MsgInternal {
		t.Fatalf("non-validation error = %v, want INTERNAL with a fixed message", got)
	}
	if FromValidation(nil) != nil {
		t.Fatal("FromValidation(nil) != nil")
	}
}
