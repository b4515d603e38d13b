package copyjob

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Scheme prefixes an object location: oss://BUCKET/KEY.
const Scheme = "oss://"

// Location is a local path or an object (or prefix) in a bucket.
type Location struct {
	Bucket string // "" for a local path
	Key    string // object key or prefix; may be ""
	Path   string // local path
}

// Remote says whether l names an object rather than a local path.
func (l Location) Remote() bool { return l.Bucket != "" }

func (l Location) String() string {
	if l.Remote() {
		return Scheme + l.Bucket + "/" + l.Key
	}
	return l.Path
}

// Parse reads "oss://BUCKET/KEY" (KEY may be empty or a prefix) or a local path.
func Parse(s string) (Location, error) {
	if !strings.HasPrefix(s, Scheme) {
		if s == "" {
			return Location{}, errors.New("empty path")
		}
		return Location{Path: s}, nil
	}
	rest := strings.TrimPrefix(s, Scheme)
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return Location{}, fmt.Errorf("%q names no bucket (want oss://BUCKET/KEY)", s)
	}
	return Location{Bucket: bucket, Key: key}, nil
}

// ErrUnrepresentable reports an object key that cannot be a local file name.
var ErrUnrepresentable = errors.New("key cannot be a local file name")

// localRel turns the part of a key below a prefix into a relative local path,
// refusing what cannot be one: empty components, ".", "..", NUL, components
// longer than 255 bytes.
func localRel(rel string) (string, error) {
	if rel == "" {
		return "", ErrUnrepresentable
	}
	for _, c := range strings.Split(rel, "/") {
		if c == "" || c == "." || c == ".." || len(c) > 255 || strings.ContainsRune(c, 0) {
			return "", ErrUnrepresentable
		}
	}
	return rel, nil
}

// baseName is the last component of a key.
func baseName(key string) string { return path.Base("/" + key) }
