// Package integration holds the tests that build the ossfs binary and run it as a
// user would: as a separate process, against the emulator, with ordinary tools
// (curl today; a real FUSE mount checked through the kernel as the mount lands).
//
// The binary is built once per run (TestMain). Tests that need FUSE skip with a
// clear message when /dev/fuse is missing, unless OSSFS_REQUIRE_FUSE=1 (CI sets
// it), which turns the skip into a failure. Tests that need a tool (curl, jq)
// fail with the install step to take when it is missing: scripts/test installs
// them.
package integration
