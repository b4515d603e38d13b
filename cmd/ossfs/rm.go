package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/ossfs/ossfs/internal/copyjob"
	"github.com/ossfs/ossfs/oss"
)

func runRm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		aps       apsFlags
		recursive bool
		quiet     bool
	)
	fs := flag.NewFlagSet("rm", flag.ContinueOnError)
	aps.register(fs)
	fs.BoolVar(&recursive, "r", false, "remove every object below the prefix (KEY and KEY/...)")
	fs.BoolVar(&quiet, "q", false, "do not print the removed keys")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ossfs rm [flags] oss://BUCKET/KEY...")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError("rm takes one or more oss://BUCKET/KEY locations")
	}
	var locs []copyjob.Location
	for _, a := range fs.Args() {
		loc, err := copyjob.Parse(a)
		if err != nil || !loc.Remote() || loc.Key == "" {
			return usageError("%q is not an oss://BUCKET/KEY location", a)
		}
		locs = append(locs, loc)
	}
	client, _, _, err := aps.clients(stderr)
	if err != nil {
		return err
	}
	defer aps.reportCalls(client, stderr)
	var failed atomic.Int64
	for _, loc := range locs {
		keys, err := keysToRemove(ctx, client, loc, recursive)
		if err != nil {
			fmt.Fprintf(stderr, "ossfs rm: %s: %v\n", loc, err)
			failed.Add(1)
			continue
		}
		failed.Add(removeKeys(ctx, client, loc.Bucket, keys, stdout, stderr, quiet))
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d removals failed", n)
	}
	return nil
}

// keysToRemove is the key itself, or with recursive every key equal to it or
// below it as a folder.
func keysToRemove(ctx context.Context, c *oss.Client, loc copyjob.Location, recursive bool) ([]string, error) {
	if !recursive {
		return []string{loc.Key}, nil
	}
	folder := strings.TrimSuffix(loc.Key, "/") + "/"
	var keys []string
	err := c.ListObjectsFunc(ctx, loc.Bucket, oss.ListOptions{BeginsWith: strings.TrimSuffix(loc.Key, "/")}, func(o oss.Object) error {
		if o.Key == strings.TrimSuffix(loc.Key, "/") || strings.HasPrefix(o.Key, folder) {
			keys = append(keys, o.Key)
		}
		return nil
	})
	if err == nil && len(keys) == 0 {
		err = fmt.Errorf("%w: nothing under this prefix", oss.ErrNotFound)
	}
	return keys, err
}

// removeKeys deletes keys, a few at a time, and returns how many failed.
func removeKeys(ctx context.Context, c *oss.Client, bucket string, keys []string, stdout, stderr io.Writer, quiet bool) int64 {
	var failed atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, k := range keys {
		g.Go(func() error {
			err := c.DeleteObject(gctx, bucket, k)
			switch {
			case err != nil:
				fmt.Fprintf(stderr, "ossfs rm: %s%s/%s: %v\n", copyjob.Scheme, bucket, k, describe(err))
				failed.Add(1)
			case !quiet:
				fmt.Fprintf(stdout, "removed %s%s/%s\n", copyjob.Scheme, bucket, k)
			}
			return nil
		})
	}
	g.Wait()
	return failed.Load()
}

// describe says what an error means to a user where errors.Is knows better than the text.
func describe(err error) string {
	if errors.Is(err, oss.ErrNotFound) {
		return "no such object"
	}
	return err.Error()
}
