package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/xiaoyi-disputes/disputes/meeting/internal/office"
	"github.com/xiaoyi-disputes/disputes/meeting/internal/store"
	"github.com/xiaoyi-disputes/disputes/platform/testenv"
)

// Updates of one matter from many callers at once each land on the matter
// as the one before left it: a record read in an update is watched, and a
// change of it meanwhile runs the update again.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	rdb := testenv.StartRedis(t).Client(t)
	st := store.New(rdb)
	ctx := context.Background()
	const region, name = "141181", "regions/141181/disputes/2026-7"
	const callers, each = 6, 5
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				errs <- st.Update(ctx, region, func(r *store.Reader) (*store.Writes, error) {
					m, err := r.Matter(name)
					if err != nil {
						return nil, err
					}
					if m == nil {
						m = &office.Matter{Name: name}
					}
					m.Meetings = append(m.Meetings, fmt.Sprintf("m%d-%d", c, i))
					return &store.Writes{Matters: []*office.Matter{m}}, nil
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var m *office.Matter
	err := st.Update(ctx, region, func(r *store.Reader) (*store.Writes, error) {
		var err error
		m, err = r.Matter(name)
		return nil, err
	})
	if err != nil || m == nil {
		t.Fatalf("read back: %v, %v", m, err)
	}
	if len(m.Meetings) != callers*each {
		t.Fatalf("the matter lists %d meetings after %d updates: %v", len(m.Meetings), callers*each, m.Meetings)
	}
}
