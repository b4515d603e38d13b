// Command ossfs mounts an Autodesk Platform Services (APS) OSS bucket as a local
// directory, and carries the tools around it.
//
//	ossfs mount [flags] BUCKET MOUNTPOINT   mount; foreground until unmounted or signalled
//	ossfs ls|stat|cp|rm ...                 direct-to-S3 transfers without a mount
//	ossfs emulator [flags]                  serve the APS OSS emulator on loopback
//	ossfs version                           print the version
//
// This package is CLI wiring only: it turns one flag table per subcommand into the
// Options of the layers below (oss, emulator, ...), handles signals and maps
// failures to exit codes. It holds no logic of its own worth testing apart from
// that wiring; what it has (flag parsing, address checks, units) is tested here.
//
// Exit codes: 0 success, 1 the command failed, 2 the command line was wrong.
package main
