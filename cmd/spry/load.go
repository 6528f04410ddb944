package main

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	spry "github.com/spry-wasm/spry/go"
)

// The formats a module file may be in, told apart by their first bytes (not by the file name).
const (
	formatBinary   = iota // "\0asm": the binary format
	formatArtifact        // "SPRYAOT\0": a module compiled ahead of time (spry compile, Module.Serialize)
	formatText            // anything else: the text format (.wat)
)

var (
	wasmMagic     = []byte("\x00asm")
	artifactMagic = []byte("SPRYAOT\x00")
)

// detectFormat tells the format of a module file by its first bytes.
func detectFormat(head []byte) int {
	switch {
	case bytes.HasPrefix(head, wasmMagic):
		return formatBinary
	case bytes.HasPrefix(head, artifactMagic):
		return formatArtifact
	}
	return formatText
}

// fileHead returns up to the first 8 bytes of the file at path.
func fileHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, len(artifactMagic))
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	return head[:n], nil
}

// mapThreshold is the size from which a binary module is mapped rather than read: reading a large
// module into the Go heap costs more than the compile cache's hash of it (ruby.wasm, 17 MB: 13 ms
// against 1 ms).
const mapThreshold = 1 << 20

// readWasm returns the binary encoding of the module in the file at path, which is in the binary or
// the text format, and a function to call once it is no longer used. A large binary module is
// mapped (read-only), not read.
func readWasm(path string) ([]byte, func(), error) {
	if fi, err := os.Stat(path); err == nil && fi.Size() >= mapThreshold {
		if b, unmap, err := mapFile(path, fi.Size()); err == nil {
			if detectFormat(b) == formatBinary {
				return b, unmap, nil
			}
			unmap()
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if detectFormat(b) == formatBinary {
		return b, func() {}, nil
	}
	wasm, err := spry.Wat2Wasm(string(b))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a WebAssembly module (binary, text or compiled): %w", path, err)
	}
	return wasm, func() {}, nil
}

// cacheDir returns the compile cache directory of this build of spry: os.UserCacheDir()/spry/ and a
// key of the executable (see buildKey), so that artifacts of another build (which may have another
// engine inside while calling itself the same version) are never loaded. "" when the user has no
// cache directory.
func cacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil || base == "" {
		return ""
	}
	key := buildKey()
	if key == "" {
		return ""
	}
	dir := filepath.Join(base, "spry", key)
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		pruneCache(filepath.Join(base, "spry"), key)
	}
	return dir
}

// staleAfter is how long a build's cache directory is kept after its last new entry once another
// build runs.
const staleAfter = 30 * 24 * time.Hour

// pruneCache removes the cache directories of other builds of spry (named by buildKey) that have
// not received a new entry for staleAfter. It runs when a new build first uses the cache. Removing
// entries that a running process has mapped is safe (the mapping keeps the file's pages).
func pruneCache(root, current string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || name == current || !isBuildKey(name) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleAfter {
			os.RemoveAll(filepath.Join(root, name))
		}
	}
}

// isBuildKey reports whether name has the form of a buildKey (16 lowercase hexadecimal digits).
func isBuildKey(name string) bool {
	if len(name) != 16 {
		return false
	}
	for _, c := range name {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// buildKey names this build of the executable: a hash of its Go build ID, whose last part is a hash
// of the executable's contents (native library included), read from its ELF note without reading
// the file; for other executable formats, a hash of the whole file. "" if neither can be read.
func buildKey() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	h := sha256.New()
	if id := elfBuildID(exe); id != "" {
		h.Write([]byte(id))
	} else {
		f, err := os.Open(exe)
		if err != nil {
			return ""
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return ""
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// elfBuildID returns the Go build ID in the ".note.go.buildid" section of the ELF file at path, or
// "" when there is none. It looks first in the notes that the program headers place in the file's
// first 4 KiB, where linkers put them (one small read; debug/elf's parse of the whole section table
// costs a few hundred microseconds on every run), then through debug/elf.
func elfBuildID(path string) string {
	if id, ok := elfBuildIDFast(path); ok {
		return id
	}
	return elfBuildIDSection(path)
}

// elfBuildIDSection returns the contents of the ".note.go.buildid" section of the ELF file at path
// through debug/elf, or "".
func elfBuildIDSection(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := f.Section(".note.go.buildid")
	if s == nil {
		return ""
	}
	note, err := s.Data()
	if err != nil || len(note) < 16 {
		return ""
	}
	// An ELF note: name size, description size, type, then the name ("Go\0\0") and the description
	// (the build ID), each padded to 4 bytes.
	nameSize := binary.LittleEndian.Uint32(note[0:4])
	descSize := binary.LittleEndian.Uint32(note[4:8])
	start := 12 + (uint64(nameSize)+3)&^3
	end := start + uint64(descSize)
	if end > uint64(len(note)) || descSize == 0 {
		return ""
	}
	return string(note[start:end])
}

// loadOptions say how to make the engine and where its compile cache is.
type loadOptions struct {
	cfg      spry.Config
	noCache  bool
	progress io.Writer // where "compiling..." goes on a terminal; nil for none
}

// loadModule makes an engine and loads the module in the file at path (binary, text or compiled),
// through the compile cache unless opts.noCache. A compiled module with fuel accounting runs without
// --fuel (fuelRequired false) in an engine that consumes fuel (engine.Config().ConsumeFuel tells;
// the caller then gives the store unlimited fuel); one without fuel accounting cannot serve --fuel.
func loadModule(path string, opts loadOptions, fuelRequired bool) (*spry.Engine, *spry.Module, error) {
	head, err := fileHead(path)
	if err != nil {
		return nil, nil, err
	}
	cfg := opts.cfg
	if detectFormat(head) == formatArtifact {
		engine, err := spry.NewEngine(&cfg)
		if err != nil {
			return nil, nil, err
		}
		m, err := spry.DeserializeModuleFile(engine, path)
		if err == nil {
			return engine, m, nil
		}
		engine.Close()
		if !cfg.ConsumeFuel && strings.Contains(err.Error(), "consume_fuel") {
			// Compiled with fuel accounting and run without --fuel: run with unlimited fuel.
			cfg.ConsumeFuel = true
			engine, err2 := spry.NewEngine(&cfg)
			if err2 != nil {
				return nil, nil, err2
			}
			if m, err2 := spry.DeserializeModuleFile(engine, path); err2 == nil {
				return engine, m, nil
			}
			engine.Close()
		}
		if fuelRequired && strings.Contains(err.Error(), "consume_fuel") {
			return nil, nil, fmt.Errorf("%s was compiled without fuel accounting, which --fuel needs: compile it with 'spry compile --consume-fuel'", path)
		}
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	wasm, release, err := readWasm(path)
	if err != nil {
		return nil, nil, err
	}
	defer release() // the module keeps no reference to the bytes
	if !opts.noCache {
		cfg.CacheDir = cacheDir()
	}
	engine, err := spry.NewEngine(&cfg)
	if err != nil && cfg.CacheDir != "" {
		// A cache directory that cannot be created is no reason not to run.
		cfg.CacheDir = ""
		engine, err = spry.NewEngine(&cfg)
	}
	if err != nil {
		return nil, nil, err
	}
	m, err := withProgress(filepath.Base(path), opts.progress, func() (*spry.Module, error) {
		return spry.Compile(engine, wasm)
	})
	if err != nil {
		engine.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return engine, m, nil
}

// progressDelay is how long a compilation runs before it shows progress.
var progressDelay = time.Second

// withProgress runs compile (of the module named name); when it takes longer than progressDelay and
// progress is not nil, a spinner line "compiling NAME" is shown on progress until it is done, then
// cleared.
func withProgress(name string, progress io.Writer, compile func() (*spry.Module, error)) (*spry.Module, error) {
	if progress == nil {
		return compile()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		timer := time.NewTimer(progressDelay)
		defer timer.Stop()
		select {
		case <-done:
			return
		case <-timer.C:
		}
		frames := []rune(`⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏`)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(progress, "\r%c compiling %s (%.0fs)", frames[i%len(frames)], name, time.Since(start).Seconds())
			select {
			case <-done:
				fmt.Fprint(progress, "\r\x1b[K")
				return
			case <-tick.C:
			}
		}
	}()
	m, err := compile()
	close(done)
	wg.Wait()
	return m, err
}

// elfBuildIDFast finds the Go build ID note (name "Go", type 4) among the PT_NOTE segments of a
// little-endian ELF64 file that lie in its first 4 KiB. ok is false when the file is not such a
// file or the note is not there.
func elfBuildIDFast(path string) (id string, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	buf := make([]byte, 4<<10)
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return "", false
	}
	buf = buf[:n]
	const ehSize, phSize = 64, 56
	if len(buf) < ehSize || string(buf[:4]) != "\x7fELF" || buf[4] != 2 || buf[5] != 1 {
		return "", false // not ELF64 little-endian
	}
	le := binary.LittleEndian
	phoff, phentsize, phnum := le.Uint64(buf[32:40]), uint64(le.Uint16(buf[54:56])), uint64(le.Uint16(buf[56:58]))
	if phentsize < phSize || phoff > uint64(len(buf)) || phnum > (uint64(len(buf))-phoff)/phentsize {
		return "", false
	}
	for i := uint64(0); i < phnum; i++ {
		ph := buf[phoff+i*phentsize:]
		if le.Uint32(ph[0:4]) != 4 { // PT_NOTE
			continue
		}
		off, size := le.Uint64(ph[8:16]), le.Uint64(ph[32:40])
		if off > uint64(len(buf)) || size > uint64(len(buf))-off {
			continue
		}
		notes := buf[off : off+size]
		for len(notes) >= 12 {
			nameSize, descSize, typ := uint64(le.Uint32(notes[0:4])), uint64(le.Uint32(notes[4:8])), le.Uint32(notes[8:12])
			nameEnd := 12 + (nameSize+3)&^3
			descEnd := nameEnd + (descSize+3)&^3
			if nameEnd > uint64(len(notes)) || descEnd > uint64(len(notes)) {
				break
			}
			// The Go linker writes the name "Go\x00\x00" with its padding counted (namesz 4).
			if typ == 4 && (nameSize == 3 || nameSize == 4) && string(notes[12:15]) == "Go\x00" && descSize > 0 {
				return string(notes[nameEnd : nameEnd+descSize]), true
			}
			notes = notes[descEnd:]
		}
	}
	return "", false
}
