package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ossfs/ossfs/internal/copyjob"
	"github.com/ossfs/ossfs/oss"
)

// lsEntry is one line of `ossfs ls`: an object, or a prefix shown as a folder.
type lsEntry struct {
	name     string
	folder   bool
	obj      oss.Object
	modified time.Time
}

func runLs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		aps       apsFlags
		long      bool
		recursive bool
	)
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	aps.register(fs)
	fs.BoolVar(&long, "l", false, "long format: size, last modified date, name (one details call per object)")
	fs.BoolVar(&recursive, "r", false, "list every object below the prefix, not only the next level")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ossfs ls [flags] oss://BUCKET[/PREFIX]\n       ossfs ls oss://    (the app's buckets)")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("ls takes one oss:// location")
	}
	client, _, _, err := aps.clients(stderr)
	if err != nil {
		return err
	}
	defer aps.reportCalls(client, stderr)
	if fs.Arg(0) == copyjob.Scheme {
		return listBuckets(ctx, client, stdout, long)
	}
	loc, err := copyjob.Parse(fs.Arg(0))
	if err != nil || !loc.Remote() {
		return usageError("ls takes an oss://BUCKET[/PREFIX] location")
	}
	entries, err := listEntries(ctx, client, loc, recursive)
	if err != nil {
		return err
	}
	if long {
		if err := fillModified(ctx, client, loc.Bucket, entries); err != nil {
			return err
		}
	}
	for _, e := range entries {
		printEntry(stdout, e, long)
	}
	return nil
}

// listEntries lists the objects below loc.Key; without recursive, what lies
// deeper than the next "/" is folded into one folder entry.
func listEntries(ctx context.Context, c *oss.Client, loc copyjob.Location, recursive bool) ([]lsEntry, error) {
	prefix := loc.Key
	folders := map[string]bool{}
	var entries []lsEntry
	err := c.ListObjectsFunc(ctx, loc.Bucket, oss.ListOptions{BeginsWith: prefix}, func(o oss.Object) error {
		rel := strings.TrimPrefix(o.Key, dirPrefix(prefix))
		if i := strings.Index(rel, "/"); !recursive && i >= 0 {
			name := dirPrefix(prefix) + rel[:i+1]
			if !folders[name] {
				folders[name] = true
				entries = append(entries, lsEntry{name: name, folder: true})
			}
			return nil
		}
		entries = append(entries, lsEntry{name: o.Key, obj: o})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b lsEntry) int { return strings.Compare(a.name, b.name) })
	return entries, nil
}

// dirPrefix is the part of a prefix up to and including its last "/".
func dirPrefix(prefix string) string {
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		return prefix[:i+1]
	}
	return ""
}

// fillModified fetches lastModifiedDate for every object entry, a few at a time.
func fillModified(ctx context.Context, c *oss.Client, bucket string, entries []lsEntry) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range entries {
		if entries[i].folder {
			continue
		}
		g.Go(func() error {
			d, err := c.ObjectDetails(gctx, bucket, entries[i].name, oss.DetailsOptions{With: []string{oss.WithLastModifiedDate}})
			if err != nil {
				return err
			}
			entries[i].modified = d.LastModifiedDate
			return nil
		})
	}
	return g.Wait()
}

func printEntry(w io.Writer, e lsEntry, long bool) {
	if !long {
		fmt.Fprintln(w, e.name)
		return
	}
	if e.folder {
		fmt.Fprintf(w, "%12s  %-20s  %s\n", "-", "-", e.name)
		return
	}
	fmt.Fprintf(w, "%12d  %-20s  %s\n", e.obj.Size, e.modified.UTC().Format("2006-01-02 15:04:05Z"), e.name)
}

func listBuckets(ctx context.Context, c *oss.Client, w io.Writer, long bool) error {
	buckets, err := c.ListBuckets(ctx, "")
	if err != nil {
		return err
	}
	for _, b := range buckets {
		if long {
			fmt.Fprintf(w, "%-10s  %-20s  %s\n", b.Policy, b.CreatedDate.UTC().Format("2006-01-02 15:04:05Z"), copyjob.Scheme+b.Key)
		} else {
			fmt.Fprintln(w, copyjob.Scheme+b.Key)
		}
	}
	return nil
}
