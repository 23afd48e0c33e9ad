// Package grpcapi implements disputes.intake.v1.IntakeService: thin
// handlers that check the caller, convert between the API and the domain,
// call the store and map errors in one place (toStatus).
package grpcapi

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/xiaoyi-disputes/disputes/intake/internal/dispute"
	"github.com/xiaoyi-disputes/disputes/intake/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/platform/authn"
	intakev1 "github.com/xiaoyi-disputes/disputes/proto/disputes/intake/v1"
	rosterv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/roster/v1"
)

// Rosters gives the last valid roster of a region (roster.Watcher does).
type Rosters interface {
	Get(region string) (*rosterv1.Roster, bool)
}

// Service serves IntakeService.
type Service struct {
	intakev1.UnimplementedIntakeServiceServer

	store   *store.Store
	rosters Rosters
	now     func() time.Time
}

// New returns the service storing in rdb, checking registrations against
// rosters, with clock now. It logs nothing itself: the server's interceptor
// writes one line per call naming the resource, never the form's content.
func New(rdb redis.UniversalClient, rosters Rosters, now func() time.Time) *Service {
	return &Service{store: store.New(rdb), rosters: rosters, now: now}
}

// Setup builds the service from the process's dependencies and registers
// it on the gRPC server; it is intake's app.Service.Setup. Intake has no
// background loops yet.
func Setup(_ context.Context, d *app.Deps) ([]func(context.Context) error, error) {
	// Read d.Now on every call so a test may swap the clock before serving.
	now := func() time.Time { return d.Now() }
	intakev1.RegisterIntakeServiceServer(d.Server.GRPC(), New(d.Redis, d.Roster, now))
	return nil, nil
}

// identity returns the caller authenticated by the server's interceptor.
func identity(ctx context.Context) (authn.Identity, dispute.Caller, error) {
	id, ok := authn.FromContext(ctx)
	if !ok {
		return authn.Identity{}, dispute.Caller{}, errNoIdentity
	}
	return id, dispute.Caller{Region: id.Region, Department: id.Department, Roles: id.Roles}, nil
}

// accessOf returns what decides who may see d.
func accessOf(d *intakev1.Dispute) dispute.Access {
	region, _, _ := dispute.ParseName(d.GetName())
	return dispute.Access{Region: region, RegisteringDepartment: d.GetRegisteringDepartment()}
}

// allowed is the one place that decides whether the caller may read a
// dispute; routing will add the departments holding it.
func allowed(c dispute.Caller, d *intakev1.Dispute) bool {
	return dispute.CanView(c, accessOf(d))
}
