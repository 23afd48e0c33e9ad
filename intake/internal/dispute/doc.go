// Package dispute holds the intake domain: the rules a registration form
// (登记表) must satisfy, the checks of personal and organisation numbers,
// resource names and numbering, and who may see or withdraw a dispute.
//
// It knows nothing of gRPC or Redis: callers pass plain views of the form,
// the roster and the caller, and get back plain errors that the API layer
// maps to status codes in one place.
package dispute
