// Package testbytes makes computable test content: the byte at offset i of a
// stream is a function of i and a seed, so any range can be produced and checked
// without storing the whole object.
package testbytes
