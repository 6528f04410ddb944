module github.com/spry-wasm/spry

go 1.24
