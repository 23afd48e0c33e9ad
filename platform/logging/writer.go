package logging

import (
	"io"
	"sync"
)

// Writer coalesces the log lines of concurrent goroutines into fewer write
// calls on the underlying writer (group commit). The services write one
// line per RPC to stderr; one write syscall a line, with callers queueing
// behind each other's syscalls, is a large part of the access log's cost
// under load.
//
// A Write while no write is in progress is written at once, by the caller,
// and returns when the underlying Write does. A Write while another
// goroutine is in the middle of a write is appended to a pending buffer and
// returns at once, without waiting for its bytes to be written: the writing
// goroutine writes all pending lines in one call as soon as its own write
// returns, and keeps doing so until nothing is pending (after maxRounds
// batches it hands that job to a new goroutine and returns). So no line
// waits for a timer or sits in the buffer while the writer is idle, and each
// Write's bytes stay together: lines are never split or interleaved, and
// they reach the underlying writer in the order the Writes were made.
//
// Because a queued Write returns before its bytes reach the underlying
// writer (the OS, for a file), call Flush before the process exits and
// before writing to the same file other than through the Writer. Other
// writers of the file should go through the Writer anyway: on a pipe, a
// batch longer than PIPE_BUF is not atomic against their writes. Write errors
// on queued lines are not returned to their writers; Flush reports the first.
//
// A Writer is safe for concurrent use. If the underlying writer stalls (a
// full pipe), queued lines are capped at maxPending bytes and further Writes
// wait for room.
type Writer struct {
	w io.Writer

	mu      sync.Mutex
	cond    sync.Cond // signalled when pending is taken and when writing ends
	writing bool      // a goroutine is writing and will write pending next
	pending []byte
	spare   []byte
	err     error // first error writing pending lines, for Flush
}

const (
	// maxPending caps the bytes waiting for the write in progress.
	maxPending = 256 << 10
	// maxRounds caps the pending batches one caller writes besides its own
	// line, so a steady stream of lines does not hold an RPC goroutine in
	// the log writer; after that a new goroutine takes over.
	maxRounds = 8
	// maxSpare is the largest batch buffer kept for reuse: a full pending
	// buffer is, an outsized line is not.
	maxSpare = 2 * maxPending
)

// NewWriter returns a Writer writing to w. Pass it to New.
func NewWriter(w io.Writer) *Writer {
	lw := &Writer{w: w}
	lw.cond.L = &lw.mu
	return lw
}

// Write writes p, or queues it behind the write in progress (see Writer).
func (lw *Writer) Write(p []byte) (int, error) {
	lw.mu.Lock()
	if lw.writing {
		for len(lw.pending) > 0 && len(lw.pending)+len(p) > maxPending {
			lw.cond.Wait()
		}
		if lw.writing {
			lw.pending = append(lw.pending, p...)
			lw.mu.Unlock()
			return len(p), nil
		}
	}
	lw.writing = true
	lw.mu.Unlock()
	n, err := lw.w.Write(p)
	lw.drain(maxRounds)
	return n, err
}

// drain writes the pending lines until there are none, then ends the
// writing state. The caller is the writing goroutine.
func (lw *Writer) drain(rounds int) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for len(lw.pending) > 0 {
		if rounds == 0 {
			go lw.drain(maxRounds)
			return
		}
		rounds--
		batch := lw.pending
		lw.pending = lw.spare[:0]
		lw.spare = nil
		lw.cond.Broadcast() // room for Writes waiting on maxPending
		lw.mu.Unlock()
		_, err := lw.w.Write(batch)
		lw.mu.Lock()
		if err != nil && lw.err == nil {
			lw.err = err
		}
		if cap(batch) <= maxSpare {
			lw.spare = batch[:0]
		}
	}
	lw.writing = false
	lw.cond.Broadcast() // for Flush
}

// Flush waits until every line written so far has been handed to the
// underlying writer, and returns the first error met writing lines queued
// since the last Flush.
func (lw *Writer) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for lw.writing {
		lw.cond.Wait()
	}
	err := lw.err
	lw.err = nil
	return err
}
