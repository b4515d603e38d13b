//go:build !linux

package main

import "os"

// adviseRandom does nothing where posix_fadvise is not available.
func adviseRandom(*os.File) error { return nil }
