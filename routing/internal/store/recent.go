package store

import "sync"

// recentLimit bounds the trackers a process remembers (a few MB).
const recentLimit = 4096

// recent remembers, per tracker key, the tracker as this process last
// wrote or read it for a change, so that the next change of the tracker is
// computed on it and written in one round trip instead of a read and a
// write. It is never trusted: the write script checks the tracker is still the one the change
// was computed on and answers with the current one when it is not (another
// replica, routing's consumer), and a change the domain refuses is judged
// again on the tracker as read (docs/ARCHITECTURE.md, "Routing's writes").
type recent struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (r *recent) get(key string) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.m[key]
	return b, ok
}

// put remembers raw as key's tracker; once full, an arbitrary other entry
// makes room.
func (r *recent) put(key string, raw []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string][]byte{}
	}
	if _, ok := r.m[key]; !ok && len(r.m) >= recentLimit {
		for k := range r.m {
			delete(r.m, k)
			break
		}
	}
	r.m[key] = raw
}

func (r *recent) drop(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, key)
}
