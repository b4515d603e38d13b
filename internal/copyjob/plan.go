package copyjob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ossfs/ossfs/oss"
)

// Job is one file to copy.
type Job struct {
	Src, Dst Location
	Size     int64  // bytes at the source (as planned)
	SHA1     string // the source's sha1, when APS reported it
	// Existing is what the destination holds, when planning learned it (nil:
	// unknown, Run asks): lets Run skip a match without a call of its own.
	Existing   *Existing
	MarkerOnly bool  // a remote "dir/" marker: Run creates the folder
	MakeDirs   bool  // Run creates the local folders the destination needs (tree copies)
	Err        error // the job failed while planning
}

// Existing is what a destination already holds; Size -1 means nothing.
type Existing struct {
	Size int64
	SHA1 string
}

// absent is the Existing of a destination known to hold nothing.
var absent = &Existing{Size: -1}

// Plan lists the jobs that copy src to dst: one file, or with recursive every
// file below a folder or prefix.
func (c *Copier) Plan(ctx context.Context, src, dst Location, recursive bool) ([]Job, error) {
	switch {
	case !src.Remote() && !dst.Remote():
		return nil, errors.New("one side must be an object (oss://BUCKET/KEY); use cp for local copies")
	case !src.Remote():
		return c.planUpload(ctx, src, dst, recursive)
	default:
		return c.planFromRemote(ctx, src, dst, recursive)
	}
}

func (c *Copier) planUpload(ctx context.Context, src, dst Location, recursive bool) ([]Job, error) {
	fi, err := os.Stat(src.Path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		key := dst.Key
		if key == "" || strings.HasSuffix(key, "/") {
			key += filepath.Base(src.Path)
		}
		return []Job{{Src: src, Dst: Location{Bucket: dst.Bucket, Key: key}, Size: fi.Size()}}, nil
	}
	if !recursive {
		return nil, fmt.Errorf("%s is a folder (use -r to copy what it holds)", src.Path)
	}
	jobs, err := walkLocal(src.Path, dst)
	if err != nil {
		return nil, err
	}
	return jobs, c.attachExisting(ctx, dst, jobs)
}

// walkLocal lists every file below root as a job to dst's key prefix.
func walkLocal(root string, dst Location) ([]Job, error) {
	prefix := strings.TrimSuffix(dst.Key, "/")
	var jobs []Job
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		key := path.Join(prefix, filepath.ToSlash(rel))
		job := Job{Src: Location{Path: p}, Dst: Location{Bucket: dst.Bucket, Key: key}}
		fi, err := os.Stat(p) // follows a link to a file
		switch {
		case err != nil:
			job.Err = err
		case !fi.Mode().IsRegular():
			job.Err = fmt.Errorf("%s is not a regular file", p)
		default:
			job.Size = fi.Size()
		}
		jobs = append(jobs, job)
		return nil
	})
	return jobs, err
}

// attachExisting lists the destination prefix once (a call per 100 objects) so
// that Run can skip files that are already there without a call each.
func (c *Copier) attachExisting(ctx context.Context, dst Location, jobs []Job) error {
	prefix := strings.TrimSuffix(dst.Key, "/")
	if prefix != "" {
		prefix += "/"
	}
	existing := map[string]*Existing{}
	err := c.client.ListObjectsFunc(ctx, dst.Bucket, oss.ListOptions{BeginsWith: prefix}, func(o oss.Object) error {
		existing[o.Key] = &Existing{Size: o.Size, SHA1: o.SHA1}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range jobs {
		jobs[i].Existing = absent
		if e := existing[jobs[i].Dst.Key]; e != nil {
			jobs[i].Existing = e
		}
	}
	return nil
}

func (c *Copier) planFromRemote(ctx context.Context, src, dst Location, recursive bool) ([]Job, error) {
	if !recursive {
		// signeds3download tells size and sha1, and its URL serves the download.
		id, err := c.engine.Stat(ctx, src.Bucket, src.Key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		job := Job{Src: src, Size: id.Size, SHA1: id.SHA1}
		job.Dst, job.Err = singleDestination(dst, src.Key)
		return []Job{job}, nil
	}
	prefix := src.Key
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	var jobs []Job
	err := c.client.ListObjectsFunc(ctx, src.Bucket, oss.ListOptions{BeginsWith: prefix}, func(o oss.Object) error {
		job := Job{Src: Location{Bucket: src.Bucket, Key: o.Key}, Size: o.Size, SHA1: o.SHA1, MakeDirs: true}
		rel := strings.TrimPrefix(o.Key, prefix)
		if strings.HasSuffix(rel, "/") && o.Size == 0 {
			job.MarkerOnly, rel = true, strings.TrimSuffix(rel, "/")
		}
		job.Dst, job.Err = treeDestination(dst, rel)
		if job.MarkerOnly && rel == "" {
			return nil // the prefix's own marker: the destination root stands for it
		}
		jobs = append(jobs, job)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("%s: %w: nothing under this prefix", src, oss.ErrNotFound)
	}
	return jobs, nil
}

// singleDestination is where one object goes: into dst when it is a folder or
// prefix ("/" at the end, or an existing local folder), else dst itself.
func singleDestination(dst Location, key string) (Location, error) {
	base := baseName(key)
	if dst.Remote() {
		if dst.Key == "" || strings.HasSuffix(dst.Key, "/") {
			dst.Key += base
		}
		return dst, nil
	}
	if fi, err := os.Stat(dst.Path); (err == nil && fi.IsDir()) || strings.HasSuffix(dst.Path, string(os.PathSeparator)) {
		rel, err := localRel(base)
		if err != nil {
			return dst, fmt.Errorf("%q: %w", key, err)
		}
		return Location{Path: filepath.Join(dst.Path, rel)}, nil
	}
	return dst, nil
}

// treeDestination is where the object at rel below the source prefix goes.
func treeDestination(dst Location, rel string) (Location, error) {
	if dst.Remote() {
		return Location{Bucket: dst.Bucket, Key: path.Join(strings.TrimSuffix(dst.Key, "/"), rel)}, nil
	}
	if rel == "" {
		return Location{Path: dst.Path}, nil
	}
	r, err := localRel(rel)
	if err != nil {
		return dst, fmt.Errorf("%q: %w", rel, err)
	}
	return Location{Path: filepath.Join(dst.Path, filepath.FromSlash(r))}, nil
}
