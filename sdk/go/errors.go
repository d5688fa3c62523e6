package adashta

import "fmt"

// Error is every error the SDK and the edge report: a code and name from the catalogue
// (proto/errors.json, the same for C++, JavaScript and Go) and a detail for people.
//
//	if errors.Is(err, adashta.ErrUnknownQueue) { ... create it ... }
//
// Is matches by code, so an error that came back from an edge matches the sentinel
// ErrUnknownQueue whatever its detail. An *Error may wrap a cause (Unwrap), e.g.
// context.DeadlineExceeded for a call whose context ran out.
type Error struct {
	Code   int    // 4000-4999: catalogue code
	Name   string // e.g. "unknown_queue"
	Detail string // what exactly was wrong; for people, do not parse it
	cause  error  // what underlies it, if anything
}

type catalogueEntry struct {
	name, message, hint string
}

func (e *Error) Error() string {
	text := e.Name
	if c, ok := catalogue[e.Code]; ok {
		text += ": " + c.message
		if e.Detail != "" {
			text += " (" + e.Detail + ")"
		}
		if c.hint != "" {
			text += "; " + c.hint
		}
		return text
	}
	if e.Detail != "" {
		text += ": " + e.Detail
	}
	return text
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Unwrap returns the cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Message is the catalogue's text for the code ("no such queue").
func (e *Error) Message() string { return catalogue[e.Code].message }

// Hint is the catalogue's advice for the code.
func (e *Error) Hint() string { return catalogue[e.Code].hint }

// errorf makes a new error of the sentinel's code with a detail.
func errorf(sentinel *Error, format string, args ...interface{}) *Error {
	return &Error{Code: sentinel.Code, Name: sentinel.Name, Detail: fmt.Sprintf(format, args...)}
}

// errorOfCode makes the error an edge answered with: its code and detail.
func errorOfCode(code int, detail string) *Error {
	name := fmt.Sprintf("error_%d", code)
	if c, ok := catalogue[code]; ok {
		name = c.name
	}
	return &Error{Code: code, Name: name, Detail: detail}
}
