// Package copyjob plans and runs the copies of `ossfs cp`: local files to
// objects, objects to local files, and objects to objects, one at a time or a
// whole tree, in parallel across files, with every byte moving through transfer.
//
// Its promises: a copy that fails leaves nothing under the final name (downloads
// go to a temporary file in the destination folder and are renamed into place;
// uploads exist only once completed); a source that changes size while uploaded
// is refused; a key that cannot be a local file name is an error for that file,
// never a path outside the destination; a destination that already holds the
// same bytes (size and sha1) is skipped.
package copyjob
