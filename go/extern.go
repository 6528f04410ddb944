package spry

// Extern is an item that modules import and instances export: a *Func, *Memory, *Global or *Table.
// Use a type switch to get at the item.
type Extern interface {
	// Kind returns the item's kind.
	Kind() ExternKind
	item() itemRef
}

// itemRef names an item of a store, as the C surface does.
type itemRef struct {
	kind    ExternKind
	store   *Store
	storeID uint64
	index   uint32
}
