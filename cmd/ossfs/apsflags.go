package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/transfer"
)

// apsFlags is the flag table shared by the subcommands that talk to APS.
type apsFlags struct {
	endpoint       string
	callsPerMinute int
	urlMinutes     int
	concurrency    int
	logLevel       string
	stats          bool
}

func (f *apsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.endpoint, "endpoint", envOr("OSSFS_ENDPOINT", oss.DefaultEndpoint), "APS base `URL` (env OSSFS_ENDPOINT)")
	fs.IntVar(&f.callsPerMinute, "calls-per-minute", 1000, "client-side budget of OSS calls per minute (the APS quota per app)")
	fs.IntVar(&f.urlMinutes, "url-minutes", 2, "lifetime asked for signed S3 URLs, 1..60 minutes (APS advises short)")
	fs.IntVar(&f.concurrency, "concurrency", transfer.DefaultOptions().Concurrency, "signed-URL requests in flight at once")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	fs.BoolVar(&f.stats, "stats", false, "print the calls made (OSS and signed-URL), per endpoint, as JSON on stderr at the end")
}

// credentials are what the client authenticates with.
type credentials struct {
	clientID, clientSecret, accessToken string
}

// envCredentials reads APS_CLIENT_ID/APS_CLIENT_SECRET, or APS_ACCESS_TOKEN.
func envCredentials() credentials {
	return credentials{os.Getenv("APS_CLIENT_ID"), os.Getenv("APS_CLIENT_SECRET"), os.Getenv("APS_ACCESS_TOKEN")}
}

// clients builds the APS client and the transfer engine from the flags and the
// environment's credentials.
func (f *apsFlags) clients(stderr io.Writer) (*oss.Client, *transfer.Engine, *slog.Logger, error) {
	return f.clientsWith(stderr, envCredentials())
}

func (f *apsFlags) clientsWith(stderr io.Writer, creds credentials) (*oss.Client, *transfer.Engine, *slog.Logger, error) {
	logger, err := newLogger(stderr, f.logLevel)
	if err != nil {
		return nil, nil, nil, err
	}
	o := oss.DefaultOptions()
	o.Endpoint = f.endpoint
	o.ClientID, o.ClientSecret, o.AccessToken = creds.clientID, creds.clientSecret, creds.accessToken
	o.CallsPerMinute = f.callsPerMinute
	o.Logger = logger
	if o.ClientID == "" && o.AccessToken == "" {
		return nil, nil, nil, usageError("no credentials: set APS_CLIENT_ID and APS_CLIENT_SECRET, or APS_ACCESS_TOKEN")
	}
	c, err := oss.New(o)
	if err != nil {
		return nil, nil, nil, usageError("%v", err)
	}
	to := transfer.DefaultOptions()
	to.URLMinutes, to.Concurrency, to.Logger = f.urlMinutes, f.concurrency, logger
	e, err := transfer.New(c, to)
	if err != nil {
		return nil, nil, nil, usageError("%v", err)
	}
	return c, e, logger, nil
}

// reportCalls prints the client's OSS call counts when --stats asked for them.
func (f *apsFlags) reportCalls(c *oss.Client, stderr io.Writer) {
	if !f.stats || c == nil {
		return
	}
	b, _ := json.Marshal(map[string]any{"calls": c.Calls()})
	fmt.Fprintln(stderr, string(b))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
