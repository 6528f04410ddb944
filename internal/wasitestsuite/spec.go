package wasitestsuite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// Operation is one step of a test's specification (doc/specification.md): run, wait, read,
// write, connect, send or recv. Fields that a type does not use are zero.
type Operation struct {
	Type string // "run", "wait", "read", "write", "connect", "send", "recv"

	// run
	Args []string
	Env  [][2]string // in the order of the JSON object
	Root string      // relative to the test's directory; "" for none (preopened as "/")
	Dirs []string    // the legacy "dirs": each preopened under its own name

	// wait
	ExitCode int

	// read, write, connect, send, recv
	ID           string // read: "stdout"/"stderr"; write: "stdin" or a connection; connect/send/recv: a connection
	Payload      string
	ProtocolType string // connect: "tcp" (the only one the specification's executor supports)
	// Whole (read): the payload must be the whole stream, not only its next bytes. Set for the
	// legacy form's stdout and stderr, which its executor compared whole.
	Whole bool
}

// Spec is a test's specification: its operations and the WASI proposals it needs.
type Spec struct {
	Operations []Operation
	Proposals  []string
	Legacy     bool // read from the legacy form (args/env/root/exit_code/stdout/stderr)
}

// DefaultSpec is the specification of a test without a .json file: run, then wait for exit 0.
func DefaultSpec() Spec {
	return Spec{Operations: []Operation{{Type: "run"}, {Type: "wait"}}, Legacy: true}
}

// ReadSpec reads a test's .json file; a missing file gives DefaultSpec.
func ReadSpec(path string) (Spec, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return DefaultSpec(), nil
	}
	if err != nil {
		return Spec{}, err
	}
	s, err := ParseSpec(data)
	if err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

var legacyKeys = map[string]bool{"args": true, "dirs": true, "root": true, "env": true, "exit_code": true, "stdout": true, "stderr": true}

// ParseSpec parses a specification in either form and validates it. The legacy form becomes
// run, read stdout (when "stdout" is given), read stderr (when "stderr" is given), wait, as the
// specification's reference executor converts it (an output is checked only when the file names
// it); those reads compare the whole stream (Whole), as the legacy executor did, where an
// operation-based read compares the stream's next len(payload) bytes.
func ParseSpec(data []byte) (Spec, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return Spec{}, err
	}
	_, hasOps := top["operations"]
	_, hasProps := top["proposals"]
	var s Spec
	if hasOps || hasProps {
		for k := range top {
			if legacyKeys[k] {
				return Spec{}, fmt.Errorf("cannot mix configuration styles (%q with operations/proposals)", k)
			}
			if k != "operations" && k != "proposals" {
				return Spec{}, fmt.Errorf("unknown key %q", k)
			}
		}
		if hasProps {
			if err := json.Unmarshal(top["proposals"], &s.Proposals); err != nil {
				return Spec{}, fmt.Errorf("proposals: %w", err)
			}
		}
		var ops []map[string]json.RawMessage
		if hasOps {
			if err := json.Unmarshal(top["operations"], &ops); err != nil {
				return Spec{}, fmt.Errorf("operations: %w", err)
			}
		} else {
			ops = []map[string]json.RawMessage{{"type": json.RawMessage(`"run"`)}, {"type": json.RawMessage(`"wait"`)}}
		}
		for i, raw := range ops {
			op, err := parseOperation(raw)
			if err != nil {
				return Spec{}, fmt.Errorf("operation %d: %w", i, err)
			}
			s.Operations = append(s.Operations, op)
		}
	} else {
		for k := range top {
			if !legacyKeys[k] {
				return Spec{}, fmt.Errorf("unknown key %q", k)
			}
		}
		s.Legacy = true
		run, err := parseRun(top)
		if err != nil {
			return Spec{}, err
		}
		s.Operations = append(s.Operations, run)
		for _, id := range []string{"stdout", "stderr"} {
			if raw, ok := top[id]; ok && string(raw) != "null" {
				var p string
				if err := json.Unmarshal(raw, &p); err != nil {
					return Spec{}, fmt.Errorf("%s: %w", id, err)
				}
				s.Operations = append(s.Operations, Operation{Type: "read", ID: id, Payload: p, Whole: true})
			}
		}
		wait := Operation{Type: "wait"}
		if err := field(top, "exit_code", &wait.ExitCode); err != nil {
			return Spec{}, err
		}
		s.Operations = append(s.Operations, wait)
	}
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// field decodes top[key] into v when present (and not null).
func field(top map[string]json.RawMessage, key string, v any) error {
	raw, ok := top[key]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

func parseRun(top map[string]json.RawMessage) (Operation, error) {
	op := Operation{Type: "run"}
	if err := field(top, "args", &op.Args); err != nil {
		return op, err
	}
	if err := field(top, "root", &op.Root); err != nil {
		return op, err
	}
	if err := field(top, "dirs", &op.Dirs); err != nil {
		return op, err
	}
	if raw, ok := top["env"]; ok && string(raw) != "null" {
		env, err := orderedStringMap(raw)
		if err != nil {
			return op, fmt.Errorf("env: %w", err)
		}
		op.Env = env
	}
	return op, nil
}

// orderedStringMap decodes a JSON object of strings, keeping the order of its keys.
func orderedStringMap(raw json.RawMessage) ([][2]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want an object of strings")
	}
	var out [][2]string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%v: %w", k, err)
		}
		out = append(out, [2]string{k.(string), v})
	}
	return out, nil
}

func parseOperation(raw map[string]json.RawMessage) (Operation, error) {
	var typ string
	if err := field(raw, "type", &typ); err != nil {
		return Operation{}, err
	}
	allowed := map[string][]string{
		"run":     {"args", "env", "root", "dirs"},
		"wait":    {"exit_code"},
		"read":    {"id", "payload"},
		"write":   {"id", "payload"},
		"connect": {"id", "protocol_type"},
		"send":    {"id", "payload"},
		"recv":    {"id", "payload"},
	}
	keys, ok := allowed[typ]
	if !ok {
		return Operation{}, fmt.Errorf("unsupported operation type %q", typ)
	}
	for k := range raw {
		known := k == "type"
		for _, a := range keys {
			known = known || k == a
		}
		if !known {
			return Operation{}, fmt.Errorf("%s: unknown key %q", typ, k)
		}
	}
	switch typ {
	case "run":
		return parseRun(raw)
	case "wait":
		op := Operation{Type: typ}
		return op, field(raw, "exit_code", &op.ExitCode)
	}
	op := Operation{Type: typ}
	switch typ {
	case "read":
		op.ID = "stdout"
	case "write":
		op.ID = "stdin"
	case "connect":
		op.ID, op.ProtocolType = "server", "tcp"
	}
	if err := field(raw, "id", &op.ID); err != nil {
		return op, err
	}
	if err := field(raw, "payload", &op.Payload); err != nil {
		return op, err
	}
	if err := field(raw, "protocol_type", &op.ProtocolType); err != nil {
		return op, err
	}
	if (typ == "send" || typ == "recv") && raw["id"] == nil {
		return op, fmt.Errorf("%s: id is required", typ)
	}
	return op, nil
}

// Validate checks the rules of the specification: each run is paired with a wait, read,
// write, connect, send and recv come after a run (and before its wait), connection ids are
// unique, and send/recv name a connection made before.
func (s Spec) Validate() error {
	running := false
	conns := map[string]bool{}
	for i, op := range s.Operations {
		switch op.Type {
		case "run":
			if running {
				return fmt.Errorf("operation %d: run while a run is not waited for", i)
			}
			running = true
		case "wait":
			if !running {
				return fmt.Errorf("operation %d: wait without a run", i)
			}
			running = false
			conns = map[string]bool{} // a run's connections end with it
		default:
			if !running {
				return fmt.Errorf("operation %d: %s outside a run", i, op.Type)
			}
		}
		switch op.Type {
		case "read":
			if op.ID != "stdout" && op.ID != "stderr" && !conns[op.ID] {
				return fmt.Errorf("operation %d: read from unknown stream %q", i, op.ID)
			}
		case "write":
			if op.ID != "stdin" && !conns[op.ID] {
				return fmt.Errorf("operation %d: write to unknown stream %q", i, op.ID)
			}
		case "connect":
			if conns[op.ID] {
				return fmt.Errorf("operation %d: connection id %q used twice", i, op.ID)
			}
			if op.ProtocolType != "tcp" {
				return fmt.Errorf("operation %d: protocol %q not supported", i, op.ProtocolType)
			}
			conns[op.ID] = true
		case "send", "recv":
			if !conns[op.ID] {
				return fmt.Errorf("operation %d: %s on unknown connection %q", i, op.Type, op.ID)
			}
		}
	}
	if running {
		return fmt.Errorf("a run is not paired with a wait")
	}
	return nil
}
