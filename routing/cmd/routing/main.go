// Command routing serves routing.v1.RoutingService: the tracker of every
// dispute, fed by intake's events, with its time limits and deadline scanner.
package main

import (
	"github.com/xiaoyi-disputes/disputes/platform/app"
	"github.com/xiaoyi-disputes/disputes/routing/internal/grpcapi"
	"github.com/xiaoyi-disputes/disputes/routing/internal/service"
)

func main() {
	app.Main(app.Service{Name: "routing", GRPCAddr: ":9102", AdminAddr: ":9202", Policy: grpcapi.Policy, Setup: service.Setup})
}
