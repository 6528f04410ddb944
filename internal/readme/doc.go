// Package readme holds the test that keeps the repository's README.md honest: every Go code block
// in it is a complete program that compiles and prints what the README says it prints.
package readme
