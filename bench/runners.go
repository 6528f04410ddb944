package main

func allRunners() []runnerDef {
	return []runnerDef{
		{"spry", "default", func() (Runner, error) { return newSpry(false) }},
		{"spry", "pooling", func() (Runner, error) { return newSpry(true) }},
		{"wasmtime-go", "default", newWasmtimeGo},
		{"wasmtime-capi", "pooling+cow+pre", newWasmtimeCAPI},
		{"wazero", "compiler", newWazero},
	}
}
