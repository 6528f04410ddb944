package main

import (
	"strings"
	"testing"
)

func TestHello(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := "Hello, World!\nadd(2, 3) = 5\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
