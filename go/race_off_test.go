//go:build !race

package spry_test

const raceEnabled = false
