// Package wasiprograms runs the WASI test programs of testdata/wasi (C, Go and AssemblyScript,
// built from source by testdata/wasi/build.sh) through wazero's WASI and through Spry's, each on a
// fresh copy of the fixture directory, and requires identical stdout, stderr, exit code and
// resulting directory tree (issue 10). wazero's results are also held to golden files in
// testdata/, so that the programs and the harness are checked even where Spry's half is absent.
//
// Run it from the bench module, after building Spry's native library (see build.sh's native()):
//
//	cd bench && go test -count=1 ./wasiprograms/
//
// `go test ./wasiprograms/ -run TestPrograms -update` rewrites the golden files from wazero.
package wasiprograms
