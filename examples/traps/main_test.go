package main

import (
	"strings"
	"testing"
)

func TestTraps(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := `divide(1, 0): trap "integer divide by zero" in traps!divide
divide(1, 0): errors.Is(err, spry.ErrIntegerDivisionByZero)
validate(-1): host error: negative input
validate(0): recovered panic: zero is not allowed
validate(7): ok
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
