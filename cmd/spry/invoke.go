package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	spry "github.com/spry-wasm/spry/go"
)

// parseArgs converts the command-line arguments of --invoke to the function's parameter types:
// integers in decimal (or 0x hexadecimal; an i32 also takes 2147483648..4294967295 as unsigned,
// an i64 likewise), floats as Go's strconv reads them (also "inf", "nan").
func parseArgs(ft spry.FuncType, args []string) ([]any, error) {
	if len(args) != len(ft.Params) {
		return nil, fmt.Errorf("the function's type is %v: it takes %d arguments, not %d", ft, len(ft.Params), len(args))
	}
	out := make([]any, len(args))
	for i, a := range args {
		v, err := parseValue(ft.Params[i], a)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		out[i] = v
	}
	return out, nil
}

func parseValue(t spry.ValueType, s string) (any, error) {
	clean := strings.ReplaceAll(s, "_", "")
	switch t {
	case spry.I32:
		if n, err := strconv.ParseInt(clean, 0, 32); err == nil {
			return int32(n), nil
		}
		if n, err := strconv.ParseUint(clean, 0, 32); err == nil {
			return int32(uint32(n)), nil
		}
	case spry.I64:
		if n, err := strconv.ParseInt(clean, 0, 64); err == nil {
			return n, nil
		}
		if n, err := strconv.ParseUint(clean, 0, 64); err == nil {
			return int64(n), nil
		}
	case spry.F32:
		if f, err := strconv.ParseFloat(clean, 32); err == nil {
			return float32(f), nil
		}
	case spry.F64:
		if f, err := strconv.ParseFloat(clean, 64); err == nil {
			return f, nil
		}
	default:
		return nil, fmt.Errorf("%v parameters cannot be given on the command line", t)
	}
	return nil, fmt.Errorf("%q is not an %v", s, t)
}

// formatResult prints a result as wasmtime --invoke does: integers in signed decimal, floats in
// their shortest exact decimal form.
func formatResult(v any) string {
	switch v := v.(type) {
	case int32, int64:
		return fmt.Sprint(v)
	case float32:
		return formatFloat(float64(v), 32)
	case float64:
		return formatFloat(v, 64)
	case nil:
		return "null"
	case *spry.Func:
		if v == nil {
			return "null"
		}
		return "<funcref>"
	case *spry.HostRef:
		if v == nil {
			return "null"
		}
		return "<externref>"
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}
