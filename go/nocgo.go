//go:build !cgo

package spry

// The package without cgo: the same API as the cgo build (a test compares them), whose
// constructors return ErrCgoRequired, so that a program built with CGO_ENABLED=0 compiles and
// reports the problem instead of failing with "undefined: NewEngine".

import "context"

// Version returns "" without cgo.
func Version() string { return "" }

// Engine compiles modules. Without cgo, NewEngine returns ErrCgoRequired.
type Engine struct{}

// NewEngine returns ErrCgoRequired without cgo.
func NewEngine(cfg *Config) (*Engine, error) { return nil, ErrCgoRequired }

// Config returns the zero Config without cgo.
func (e *Engine) Config() Config { return Config{} }

// Close does nothing without cgo.
func (e *Engine) Close() error { return nil }

// DefaultPoolingConfig returns the zero PoolingConfig without cgo.
func DefaultPoolingConfig() PoolingConfig { return PoolingConfig{} }

// Module is a compiled module. Without cgo, Compile returns ErrCgoRequired.
type Module struct{}

// Compile returns ErrCgoRequired without cgo.
func Compile(engine *Engine, wasm []byte) (*Module, error) { return nil, ErrCgoRequired }

// Validate returns ErrCgoRequired without cgo.
func Validate(engine *Engine, wasm []byte) error { return ErrCgoRequired }

// Name returns "" without cgo.
func (m *Module) Name() string { return "" }

// Imports returns nil without cgo.
func (m *Module) Imports() []ImportType { return nil }

// Exports returns nil without cgo.
func (m *Module) Exports() []ExportType { return nil }

// Engine returns nil without cgo.
func (m *Module) Engine() *Engine { return nil }

// Close does nothing without cgo.
func (m *Module) Close() error { return nil }

// Serialize returns ErrCgoRequired without cgo.
func (m *Module) Serialize() ([]byte, error) { return nil, ErrCgoRequired }

// DeserializeModule returns ErrCgoRequired without cgo. With cgo, b must come from a trusted
// source: Spry's own Serialize with a matching engine.
func DeserializeModule(engine *Engine, b []byte) (*Module, error) { return nil, ErrCgoRequired }

// DeserializeModuleFile returns ErrCgoRequired without cgo. With cgo, the file must come from a
// trusted source: Spry's own Serialize with a matching engine.
func DeserializeModuleFile(engine *Engine, path string) (*Module, error) {
	return nil, ErrCgoRequired
}

// Store holds instances. Without cgo, NewStore returns ErrCgoRequired.
type Store struct{}

// NewStore returns ErrCgoRequired without cgo.
func NewStore(engine *Engine) (*Store, error) { return nil, ErrCgoRequired }

// Engine returns nil without cgo.
func (s *Store) Engine() *Engine { return nil }

// SetData does nothing without cgo.
func (s *Store) SetData(v any) {}

// Data returns nil without cgo.
func (s *Store) Data() any { return nil }

// Close does nothing without cgo.
func (s *Store) Close() error { return nil }

// Interrupt does nothing without cgo.
func (s *Store) Interrupt() {}

// SetLimits returns ErrCgoRequired without cgo.
func (s *Store) SetLimits(limits StoreLimits) error { return ErrCgoRequired }

// SetFuel returns ErrCgoRequired without cgo.
func (s *Store) SetFuel(fuel uint64) error { return ErrCgoRequired }

// Fuel returns ErrCgoRequired without cgo.
func (s *Store) Fuel() (uint64, error) { return 0, ErrCgoRequired }

// Linker resolves imports. Without cgo, NewLinker returns ErrCgoRequired.
type Linker struct{}

// NewLinker returns ErrCgoRequired without cgo.
func NewLinker(engine *Engine) (*Linker, error) { return nil, ErrCgoRequired }

// Close does nothing without cgo.
func (l *Linker) Close() error { return nil }

// Engine returns nil without cgo.
func (l *Linker) Engine() *Engine { return nil }

// AllowShadowing returns ErrCgoRequired without cgo.
func (l *Linker) AllowShadowing(allow bool) error { return ErrCgoRequired }

// DefineFunc returns ErrCgoRequired without cgo.
func (l *Linker) DefineFunc(module, name string, fn any) error { return ErrCgoRequired }

// DefineRawFunc returns ErrCgoRequired without cgo.
func (l *Linker) DefineRawFunc(module, name string, ft FuncType, fn RawFunc) error {
	return ErrCgoRequired
}

// Define returns ErrCgoRequired without cgo.
func (l *Linker) Define(module, name string, item Extern) error { return ErrCgoRequired }

// DefineInstance returns ErrCgoRequired without cgo.
func (l *Linker) DefineInstance(module string, inst *Instance) error { return ErrCgoRequired }

// Instantiate returns ErrCgoRequired without cgo.
func (l *Linker) Instantiate(ctx context.Context, s *Store, module *Module) (*Instance, error) {
	return nil, ErrCgoRequired
}

// InstantiatePre returns ErrCgoRequired without cgo.
func (l *Linker) InstantiatePre(module *Module) (*InstancePre, error) { return nil, ErrCgoRequired }

// DefineUnknownImportsAsTraps returns ErrCgoRequired without cgo.
func (l *Linker) DefineUnknownImportsAsTraps(m *Module) error { return ErrCgoRequired }

// InstancePre is a module with resolved imports. Without cgo, none can be made.
type InstancePre struct{}

// Close does nothing without cgo.
func (p *InstancePre) Close() error { return nil }

// Instantiate returns ErrCgoRequired without cgo.
func (p *InstancePre) Instantiate(ctx context.Context, s *Store) (*Instance, error) {
	return nil, ErrCgoRequired
}

// Instance is an instantiated module. Without cgo, none can be made.
type Instance struct{}

// NewInstance returns ErrCgoRequired without cgo.
func NewInstance(ctx context.Context, s *Store, module *Module, imports []Extern) (*Instance, error) {
	return nil, ErrCgoRequired
}

// Store returns nil without cgo.
func (i *Instance) Store() *Store { return nil }

// Export returns ErrCgoRequired without cgo.
func (i *Instance) Export(name string) (Extern, error) { return nil, ErrCgoRequired }

// Func returns ErrCgoRequired without cgo.
func (i *Instance) Func(name string) (*Func, error) { return nil, ErrCgoRequired }

// Memory returns ErrCgoRequired without cgo.
func (i *Instance) Memory(name string) (*Memory, error) { return nil, ErrCgoRequired }

// Global returns ErrCgoRequired without cgo.
func (i *Instance) Global(name string) (*Global, error) { return nil, ErrCgoRequired }

// Table returns ErrCgoRequired without cgo.
func (i *Instance) Table(name string) (*Table, error) { return nil, ErrCgoRequired }

// Func is a function of a store. Without cgo, none can be made.
type Func struct{}

// NewFunc returns ErrCgoRequired without cgo.
func NewFunc(s *Store, fn any) (*Func, error) { return nil, ErrCgoRequired }

// NewRawFunc returns ErrCgoRequired without cgo.
func NewRawFunc(s *Store, ft FuncType, fn RawFunc) (*Func, error) { return nil, ErrCgoRequired }

// Type returns the zero FuncType without cgo.
func (f *Func) Type() FuncType { return FuncType{} }

// Store returns nil without cgo.
func (f *Func) Store() *Store { return nil }

// Kind returns ExternFunc.
func (f *Func) Kind() ExternKind { return ExternFunc }

func (f *Func) item() itemRef { return itemRef{} }

// Call returns ErrCgoRequired without cgo.
func (f *Func) Call(ctx context.Context, args ...any) ([]any, error) { return nil, ErrCgoRequired }

// CallRaw returns ErrCgoRequired without cgo.
func (f *Func) CallRaw(ctx context.Context, slots []uint64) error { return ErrCgoRequired }

// Memory is a linear memory. Without cgo, none can be made.
type Memory struct{}

// NewMemory returns ErrCgoRequired without cgo.
func NewMemory(s *Store, mt MemoryType) (*Memory, error) { return nil, ErrCgoRequired }

// Bytes returns nil without cgo.
func (m *Memory) Bytes() []byte { return nil }

// Size returns 0 without cgo.
func (m *Memory) Size() uint64 { return 0 }

// Grow returns ErrCgoRequired without cgo.
func (m *Memory) Grow(delta uint64) (uint64, error) { return 0, ErrCgoRequired }

// Type returns the zero MemoryType without cgo.
func (m *Memory) Type() MemoryType { return MemoryType{} }

// Read returns false without cgo.
func (m *Memory) Read(offset, byteCount uint32) (b []byte, ok bool) { return nil, false }

// ReadInto returns false without cgo.
func (m *Memory) ReadInto(offset uint32, dst []byte) bool { return false }

// Write returns false without cgo.
func (m *Memory) Write(offset uint32, b []byte) bool { return false }

// WriteString returns false without cgo.
func (m *Memory) WriteString(offset uint32, s string) bool { return false }

// ReadUint8 returns false without cgo.
func (m *Memory) ReadUint8(offset uint32) (v byte, ok bool) { return 0, false }

// ReadUint16Le returns false without cgo.
func (m *Memory) ReadUint16Le(offset uint32) (v uint16, ok bool) { return 0, false }

// ReadUint32Le returns false without cgo.
func (m *Memory) ReadUint32Le(offset uint32) (v uint32, ok bool) { return 0, false }

// ReadUint64Le returns false without cgo.
func (m *Memory) ReadUint64Le(offset uint32) (v uint64, ok bool) { return 0, false }

// ReadFloat32Le returns false without cgo.
func (m *Memory) ReadFloat32Le(offset uint32) (float32, bool) { return 0, false }

// ReadFloat64Le returns false without cgo.
func (m *Memory) ReadFloat64Le(offset uint32) (float64, bool) { return 0, false }

// WriteUint8 returns false without cgo.
func (m *Memory) WriteUint8(offset uint32, v byte) bool { return false }

// WriteUint16Le returns false without cgo.
func (m *Memory) WriteUint16Le(offset uint32, v uint16) bool { return false }

// WriteUint32Le returns false without cgo.
func (m *Memory) WriteUint32Le(offset uint32, v uint32) bool { return false }

// WriteUint64Le returns false without cgo.
func (m *Memory) WriteUint64Le(offset uint32, v uint64) bool { return false }

// WriteFloat32Le returns false without cgo.
func (m *Memory) WriteFloat32Le(offset uint32, v float32) bool { return false }

// WriteFloat64Le returns false without cgo.
func (m *Memory) WriteFloat64Le(offset uint32, v float64) bool { return false }

// Store returns nil without cgo.
func (m *Memory) Store() *Store { return nil }

// Kind returns ExternMemory.
func (m *Memory) Kind() ExternKind { return ExternMemory }

func (m *Memory) item() itemRef { return itemRef{} }

// Global is a global variable. Without cgo, none can be made.
type Global struct{}

// NewGlobal returns ErrCgoRequired without cgo.
func NewGlobal(s *Store, gt GlobalType, init any) (*Global, error) { return nil, ErrCgoRequired }

// Get returns ErrCgoRequired without cgo.
func (g *Global) Get() (any, error) { return nil, ErrCgoRequired }

// Set returns ErrCgoRequired without cgo.
func (g *Global) Set(v any) error { return ErrCgoRequired }

// Type returns the zero GlobalType without cgo.
func (g *Global) Type() GlobalType { return GlobalType{} }

// Store returns nil without cgo.
func (g *Global) Store() *Store { return nil }

// Kind returns ExternGlobal.
func (g *Global) Kind() ExternKind { return ExternGlobal }

func (g *Global) item() itemRef { return itemRef{} }

// Table is a table of references. Without cgo, none can be made.
type Table struct{}

// NewTable returns ErrCgoRequired without cgo.
func NewTable(s *Store, tt TableType, init any) (*Table, error) { return nil, ErrCgoRequired }

// Get returns ErrCgoRequired without cgo.
func (t *Table) Get(i uint32) (any, error) { return nil, ErrCgoRequired }

// Set returns ErrCgoRequired without cgo.
func (t *Table) Set(i uint32, v any) error { return ErrCgoRequired }

// Size returns 0 without cgo.
func (t *Table) Size() uint32 { return 0 }

// Grow returns ErrCgoRequired without cgo.
func (t *Table) Grow(delta uint32, init any) (uint32, error) { return 0, ErrCgoRequired }

// Type returns the zero TableType without cgo.
func (t *Table) Type() TableType { return TableType{} }

// Store returns nil without cgo.
func (t *Table) Store() *Store { return nil }

// Kind returns ExternTable.
func (t *Table) Kind() ExternKind { return ExternTable }

func (t *Table) item() itemRef { return itemRef{} }

// Caller is what a host function sees of its caller. Without cgo, host functions never run.
type Caller struct{}

// Store returns nil without cgo.
func (c *Caller) Store() *Store { return nil }

// Data returns nil without cgo.
func (c *Caller) Data() any { return nil }

// Context returns context.Background() without cgo.
func (c *Caller) Context() context.Context { return context.Background() }

// Export returns ErrCgoRequired without cgo.
func (c *Caller) Export(name string) (Extern, error) { return nil, ErrCgoRequired }

// Memory returns ErrCgoRequired without cgo.
func (c *Caller) Memory(name string) (*Memory, error) { return nil, ErrCgoRequired }

// Func returns ErrCgoRequired without cgo.
func (c *Caller) Func(name string) (*Func, error) { return nil, ErrCgoRequired }

// Typed0 returns ErrCgoRequired without cgo.
func Typed0(f *Func) (func(context.Context) error, error) { return nil, ErrCgoRequired }

// Typed1 returns ErrCgoRequired without cgo.
func Typed1[P1 Number](f *Func) (func(context.Context, P1) error, error) {
	return nil, ErrCgoRequired
}

// Typed2 returns ErrCgoRequired without cgo.
func Typed2[P1, P2 Number](f *Func) (func(context.Context, P1, P2) error, error) {
	return nil, ErrCgoRequired
}

// Typed3 returns ErrCgoRequired without cgo.
func Typed3[P1, P2, P3 Number](f *Func) (func(context.Context, P1, P2, P3) error, error) {
	return nil, ErrCgoRequired
}

// Typed4 returns ErrCgoRequired without cgo.
func Typed4[P1, P2, P3, P4 Number](f *Func) (func(context.Context, P1, P2, P3, P4) error, error) {
	return nil, ErrCgoRequired
}

// Typed0R returns ErrCgoRequired without cgo.
func Typed0R[R Number](f *Func) (func(context.Context) (R, error), error) {
	return nil, ErrCgoRequired
}

// Typed1R returns ErrCgoRequired without cgo.
func Typed1R[P1, R Number](f *Func) (func(context.Context, P1) (R, error), error) {
	return nil, ErrCgoRequired
}

// Typed2R returns ErrCgoRequired without cgo.
func Typed2R[P1, P2, R Number](f *Func) (func(context.Context, P1, P2) (R, error), error) {
	return nil, ErrCgoRequired
}

// Typed3R returns ErrCgoRequired without cgo.
func Typed3R[P1, P2, P3, R Number](f *Func) (func(context.Context, P1, P2, P3) (R, error), error) {
	return nil, ErrCgoRequired
}

// Typed4R returns ErrCgoRequired without cgo.
func Typed4R[P1, P2, P3, P4, R Number](f *Func) (func(context.Context, P1, P2, P3, P4) (R, error), error) {
	return nil, ErrCgoRequired
}
