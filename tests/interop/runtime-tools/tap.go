// Package tap writes Test Anything Protocol (version 13) output. It implements the subset of
// the github.com/mndrix/tap-go API that runtime-tools' validation suite uses (New, Header,
// Ok, Pass, Fail, Skip, Diagnostic, Diagnosticf, YAML, AutoPlan, Count, Todo), because Debian does
// not package that library. tests/interop/runtime-tools.sh places it at that import path in
// a temporary GOPATH.
package tap

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// T is a TAP producer.
type T struct {
	// shared with the copies Todo returns, so that numbering stays sequential
	nextTestNumber *int
	// TODO marks the following test points as TODO.
	TODO bool
	// Writer receives the output (os.Stdout by default).
	Writer io.Writer
}

// New returns a producer that writes to standard output.
func New() *T {
	n := 1
	return &T{nextTestNumber: &n, Writer: os.Stdout}
}

// Todo returns a producer writing to the same stream whose test points are marked TODO.
func (t *T) Todo() *T {
	todo := *t
	todo.TODO = true
	return &todo
}

func (t *T) printf(format string, a ...interface{}) { fmt.Fprintf(t.Writer, format, a...) }

// Header prints the version line and, for a positive count, the plan.
func (t *T) Header(testCount int) {
	t.printf("TAP version 13\n")
	if testCount > 0 {
		t.printf("1..%d\n", testCount)
	}
}

// Ok prints one test point.
func (t *T) Ok(test bool, description string) {
	ok := "ok"
	if !test {
		ok = "not ok"
	}
	description = strings.ReplaceAll(description, "\n", " ")
	if t.TODO {
		t.printf("%s %d # TODO %s\n", ok, *t.nextTestNumber, description)
	} else {
		t.printf("%s %d - %s\n", ok, *t.nextTestNumber, description)
	}
	*t.nextTestNumber++
}

// Pass prints a passing test point.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Fail prints a failing test point.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Skip prints count skipped test points.
func (t *T) Skip(count int, description string) {
	for i := 0; i < count; i++ {
		t.printf("ok %d # SKIP %s\n", *t.nextTestNumber, description)
		*t.nextTestNumber++
	}
}

// Count is the number of test points printed so far.
func (t *T) Count() int { return *t.nextTestNumber - 1 }

// AutoPlan prints the plan from the number of test points printed.
func (t *T) AutoPlan() { t.printf("1..%d\n", t.Count()) }

// Diagnostic prints a comment line.
func (t *T) Diagnostic(message string) {
	t.printf("# %s\n", strings.ReplaceAll(message, "\n", "\n# "))
}

// Diagnosticf prints a formatted comment line.
func (t *T) Diagnosticf(format string, a ...interface{}) {
	t.Diagnostic(fmt.Sprintf(format, a...))
}

// YAML prints a YAML (here: JSON, a subset of YAML) diagnostic block.
func (t *T) YAML(message interface{}) error {
	b, err := json.MarshalIndent(message, "  ", "  ")
	if err != nil {
		return err
	}
	t.printf("  ---\n  %s\n  ...\n", b)
	return nil
}
