package fs

import (
	"strings"
)

// maxNameLen is the longest name a POSIX directory entry can hold.
const maxNameLen = 255

// validName says whether one path component of a key can be a POSIX name.
func validName(c string) bool {
	return c != "" && c != "." && c != ".." && len(c) <= maxNameLen && !strings.ContainsRune(c, 0)
}

// splitKey splits the part of a key below a directory prefix into its components
// and says whether the key is a directory marker (ends in "/"). ok is false when
// a component cannot be a POSIX name: such keys are hidden.
func splitKey(rel string) (comps []string, marker, ok bool) {
	marker = strings.HasSuffix(rel, "/")
	comps = strings.Split(strings.TrimSuffix(rel, "/"), "/")
	for _, c := range comps {
		if !validName(c) {
			return nil, marker, false
		}
	}
	return comps, marker, true
}

// childKey is the key of name in the directory with prefix ("" or "a/b/").
func childKey(prefix, name string) string { return prefix + name }

// childPrefix is the prefix of the subdirectory name of prefix.
func childPrefix(prefix, name string) string { return prefix + name + "/" }
