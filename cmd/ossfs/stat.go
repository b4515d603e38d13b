package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ossfs/ossfs/internal/copyjob"
	"github.com/ossfs/ossfs/oss"
)

func runStat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		aps    apsFlags
		asJSON bool
	)
	fs := flag.NewFlagSet("stat", flag.ContinueOnError)
	aps.register(fs)
	fs.BoolVar(&asJSON, "json", false, "print the details as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ossfs stat [flags] oss://BUCKET/KEY")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("stat takes one oss://BUCKET/KEY location")
	}
	loc, err := copyjob.Parse(fs.Arg(0))
	if err != nil || !loc.Remote() || loc.Key == "" {
		return usageError("%q is not an oss://BUCKET/KEY location", fs.Arg(0))
	}
	client, _, _, err := aps.clients(stderr)
	if err != nil {
		return err
	}
	defer aps.reportCalls(client, stderr)
	with := []string{oss.WithCreatedDate, oss.WithLastModifiedDate, oss.WithLastAccessedDate, oss.WithUserMetadata}
	o, err := client.ObjectDetails(ctx, loc.Bucket, loc.Key, oss.DetailsOptions{With: with})
	if err != nil {
		return fmt.Errorf("%s: %s", loc, describe(err))
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(o)
	}
	printDetails(stdout, o)
	return nil
}

func printDetails(w io.Writer, o *oss.Object) {
	date := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	fmt.Fprintf(w, "key:           %s\n", o.Key)
	fmt.Fprintf(w, "bucket:        %s\n", o.BucketKey)
	fmt.Fprintf(w, "size:          %d\n", o.Size)
	fmt.Fprintf(w, "sha1:          %s\n", o.SHA1)
	fmt.Fprintf(w, "content type:  %s\n", o.ContentType)
	fmt.Fprintf(w, "created:       %s\n", date(o.CreatedDate))
	fmt.Fprintf(w, "modified:      %s\n", date(o.LastModifiedDate))
	fmt.Fprintf(w, "accessed:      %s\n", date(o.LastAccessedDate))
	if o.UserMetadata != "" {
		fmt.Fprintf(w, "user metadata: %s\n", o.UserMetadata)
	}
}
