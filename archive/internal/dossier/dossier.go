// Package dossier is the archive domain: what the archive keeps about one
// dispute besides its events (number, registering department, category,
// last state, departments involved), who may read it, search filters and
// statistics. It is pure: events arrive already reduced to Facts.
package dossier

import (
	"errors"
	"slices"
	"strings"
	"time"

	typesv1 "github.com/xiaoyi-disputes/disputes/proto/disputes/types/v1"

	"github.com/xiaoyi-disputes/disputes/platform/names"
)

// Errors the grpcapi error table maps to status codes.
var (
	// ErrNotFound: no dossier for the dispute.
	ErrNotFound = errors.New("dossier not found")
	// ErrPermissionDenied: the caller may not read it.
	ErrPermissionDenied = errors.New("permission denied")
)

// ValidationError is bad input in one field.
type ValidationError struct {
	Field, Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// Fact is what one event tells the dossier. Zero fields tell nothing.
type Fact struct {
	Time                  time.Time
	Number                string
	RegisteringDepartment string
	Category              typesv1.Category
	Channel               typesv1.Channel
	RegisterTime          time.Time
	// Version, State and Readers are routing's account of the dispute after
	// the event (its Lifecycle), on routing's events only: the archive
	// copies them and never works the lifecycle out itself.
	Version int64
	State   typesv1.DisputeState
	Readers []string
	Holder  string

	// What the statistics count (docs/PERFORMANCE.md, "Archive search and
	// statistics"), read from the payloads.
	Jurisdiction string
	// ReplyTime is when a written reply was given.
	ReplyTime time.Time
	// Overdue: a clock was reported overdue; HandlingDue is the due time of
	// the handling clock when that clock was the one.
	Overdue     bool
	HandlingDue time.Time
	// Returned: a transfer was returned.
	Returned bool
	// Extended: an extension of the handling time was approved.
	Extended bool
	// FollowUp is set on a follow-up call, Satisfied with its outcome.
	FollowUp, Satisfied bool
}

// Dossier is the archive's summary of one dispute.
type Dossier struct {
	Name                  string               `json:"name"`
	Region                string               `json:"region"`
	Number                string               `json:"number,omitempty"`
	State                 typesv1.DisputeState `json:"state,omitempty"`
	StateTime             time.Time            `json:"state_time,omitzero"`
	RegisteringDepartment string               `json:"registering_department,omitempty"`
	Category              typesv1.Category     `json:"category,omitempty"`
	Channel               typesv1.Channel      `json:"channel,omitempty"`
	RegisterTime          time.Time            `json:"register_time,omitzero"`
	Departments           []string             `json:"departments,omitempty"`
	Events                int                  `json:"events"`
	// Version is the version of routing's account followed last.
	Version int64 `json:"version,omitempty"`
	// CloseMs is when (Unix ms of its stream entry) the event that closed
	// the dispute was published; events published later go to the
	// addendum, and the dossier is sealed once every stream the archive
	// reads is applied past it (docs/ARCHITECTURE.md, "Sealing").
	CloseMs uint64 `json:"close_ms,omitempty"`
	// Sealed is set once the dossier is a leaf of the sealed log, at LeafIndex.
	Sealed    bool  `json:"sealed,omitempty"`
	LeafIndex int64 `json:"leaf_index,omitempty"`

	// FirstTime is the time of the earliest event filed; it orders a
	// dossier whose registration has not arrived yet.
	FirstTime time.Time `json:"first_time,omitzero"`
	// Holder is the department holding the dispute, as routing last
	// reported it.
	Holder string `json:"holder,omitempty"`

	// What the statistics count. None of it goes into the sealed leaf.
	Jurisdiction string    `json:"jurisdiction,omitempty"`
	ReplyTime    time.Time `json:"reply_time,omitzero"`
	Overdue      bool      `json:"overdue,omitempty"`
	HandlingDue  time.Time `json:"handling_due,omitzero"`
	Returned     bool      `json:"returned,omitempty"`
	Extended     bool      `json:"extended,omitempty"`
	FollowUps    int64     `json:"follow_ups,omitempty"`
	Satisfied    int64     `json:"satisfied,omitempty"`
}

// New returns the empty dossier of dispute name, numbered from the name.
func New(name string) (*Dossier, error) {
	region, _, err := names.DisputeID(name)
	if err != nil {
		return nil, err
	}
	number, err := names.NumberOf(name)
	if err != nil {
		return nil, err
	}
	return &Dossier{Name: name, Region: region, Number: number}, nil
}

// Apply folds one event's fact into d. The state and who may read the
// dossier follow routing's account with the highest version, so events
// delivered in any order never move a dossier backwards.
func (d *Dossier) Apply(f Fact) {
	d.Events++
	if !f.Time.IsZero() && (d.FirstTime.IsZero() || f.Time.Before(d.FirstTime)) {
		d.FirstTime = f.Time
	}
	if f.Jurisdiction != "" {
		d.Jurisdiction = f.Jurisdiction
	}
	if !f.ReplyTime.IsZero() && f.ReplyTime.After(d.ReplyTime) {
		d.ReplyTime = f.ReplyTime
	}
	d.Overdue = d.Overdue || f.Overdue
	if !f.HandlingDue.IsZero() && (d.HandlingDue.IsZero() || f.HandlingDue.Before(d.HandlingDue)) {
		d.HandlingDue = f.HandlingDue
	}
	d.Returned = d.Returned || f.Returned
	d.Extended = d.Extended || f.Extended
	d.ApplyLate(f)
	if f.Number != "" {
		d.Number = f.Number
	}
	if f.RegisteringDepartment != "" {
		d.RegisteringDepartment = f.RegisteringDepartment
	}
	if f.Category != typesv1.Category_CATEGORY_UNSPECIFIED {
		d.Category = f.Category
	}
	if f.Channel != typesv1.Channel_CHANNEL_UNSPECIFIED {
		d.Channel = f.Channel
	}
	if !f.RegisterTime.IsZero() {
		d.RegisterTime = f.RegisterTime
	}
	readers := d.Departments
	if f.Version > d.Version {
		d.Version, d.State, d.StateTime, d.Holder = f.Version, f.State, f.Time, f.Holder
		readers = f.Readers
	}
	d.Departments = nil
	for _, dep := range append([]string{d.RegisteringDepartment}, readers...) {
		if dep != "" && !slices.Contains(d.Departments, dep) {
			d.Departments = append(d.Departments, dep)
		}
	}
	slices.Sort(d.Departments)
}

// ApplyLate folds what an event filed after the dossier closed (its
// addendum) tells the statistics: a follow-up call. Nothing of the sealed
// dossier changes.
func (d *Dossier) ApplyLate(f Fact) {
	if f.FollowUp {
		d.FollowUps++
		if f.Satisfied {
			d.Satisfied++
		}
	}
}

// Closed reports whether routing's account says the dispute is closed.
func (d *Dossier) Closed() bool { return d.State == typesv1.DisputeState_DISPUTE_STATE_CLOSED }

// Caller is who reads the archive.
type Caller struct {
	Region, Department string
	// RegionWide is set for the office and convenor roles.
	RegionWide bool
}

// CanView reports whether c may read d: its region's office and convenor,
// or a department that took part.
func (d *Dossier) CanView(c Caller) bool {
	return c.Region == d.Region && (c.RegionWide || slices.Contains(d.Departments, c.Department))
}

// Filter selects dossiers in a search.
type Filter struct {
	State                 typesv1.DisputeState
	Category              typesv1.Category
	Channel               typesv1.Channel
	RegisteringDepartment string
	Jurisdiction          string
	// Query matches the number or a department id, as a substring.
	Query string
	// From and To bound the registration time (zero: unbounded).
	From, To time.Time
}

// Match reports whether d passes f.
func (f Filter) Match(d *Dossier) bool {
	switch {
	case f.State != typesv1.DisputeState_DISPUTE_STATE_UNSPECIFIED && d.State != f.State:
		return false
	case f.Category != typesv1.Category_CATEGORY_UNSPECIFIED && d.Category != f.Category:
		return false
	case f.Channel != typesv1.Channel_CHANNEL_UNSPECIFIED && d.Channel != f.Channel:
		return false
	case f.RegisteringDepartment != "" && d.RegisteringDepartment != f.RegisteringDepartment:
		return false
	case f.Jurisdiction != "" && d.Jurisdiction != f.Jurisdiction:
		return false
	case !f.From.IsZero() && d.RegisterTime.Before(f.From):
		return false
	case !f.To.IsZero() && !d.RegisterTime.Before(f.To):
		return false
	case f.Query != "":
		return strings.Contains(d.Number, f.Query) || strings.Contains(d.Name, f.Query) ||
			slices.ContainsFunc(d.Departments, func(s string) bool { return strings.Contains(s, f.Query) })
	}
	return true
}
