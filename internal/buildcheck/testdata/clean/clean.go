// Package clean compiles.
package clean

// N is a number.
var N int = 1
