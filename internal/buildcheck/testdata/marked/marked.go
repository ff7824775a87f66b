// Package marked holds each kind of line Check judges.
package marked

var held int = "text"   // want "cannot use \"text\""
var missed int = "text" // want "a message the compiler does not give"
var compiles int = 1    // want "an error"
var unmarked int = "text"
