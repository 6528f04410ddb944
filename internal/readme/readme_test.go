package readme

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// block is a fenced code block of README.md: its language, its text and the line it starts on.
type block struct {
	lang, text string
	line       int
}

var fence = regexp.MustCompile("^```([a-z]*)\\s*$")

// blocks parses the fenced code blocks of a Markdown document.
func blocks(t *testing.T, md string) []block {
	t.Helper()
	var out []block
	var cur *block
	var body []string
	for i, l := range strings.Split(md, "\n") {
		m := fence.FindStringSubmatch(l)
		switch {
		case m != nil && cur == nil:
			cur = &block{lang: m[1], line: i + 1}
			body = nil
		case m != nil && m[1] == "" && cur != nil:
			cur.text = strings.Join(body, "\n") + "\n"
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body = append(body, l)
		}
	}
	if cur != nil {
		t.Fatalf("README.md:%d: code block never closed", cur.line)
	}
	return out
}

// TestGoBlocksRun builds and runs every ```go block of README.md as a program of this module and
// compares its standard output with the ```text block that follows it, when there is one.
func TestGoBlocksRun(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	bs := blocks(t, string(md))
	ran := 0
	for i, b := range bs {
		if b.lang != "go" {
			continue
		}
		if !strings.HasPrefix(b.text, "package main\n") {
			t.Errorf("README.md:%d: a Go block must be a complete program (start with `package main`)", b.line)
			continue
		}
		// Inside the module (so that its import of the package resolves to this tree), in a
		// directory that `./...` patterns skip.
		dir, err := os.MkdirTemp(filepath.Join(root, "internal", "readme"), ".block-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(b.text), 0o644); err != nil {
			t.Fatal(err)
		}
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.Command(gobin, "run", ".")
		cmd.Dir = dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("README.md:%d: go run: %v\n%s", b.line, err, stderr.String())
			continue
		}
		ran++
		if i+1 < len(bs) && bs[i+1].lang == "text" {
			if got, want := stdout.String(), bs[i+1].text; got != want {
				t.Errorf("README.md:%d: the program printed\n%s\nthe README (line %d) says\n%s", b.line, got, bs[i+1].line, want)
			}
		}
	}
	if ran == 0 {
		t.Fatal("README.md has no Go block that ran")
	}
	t.Logf("%d Go block(s) of README.md ran", ran)
}
