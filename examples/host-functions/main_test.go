package main

import (
	"strings"
	"testing"
)

func TestHostFunctions(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := "wasm says: counting with the host\nsum of 0..9 = 45\nhost calls: 11\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
