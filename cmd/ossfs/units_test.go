package main

import "testing"

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1048576": 1 << 20, "50MB": 50e6, "50MB/s": 50e6, "64MiB": 64 << 20,
		"1.5GB": 1.5e9, "2 KiB": 2048, "10kB": 10e3, "7B": 7,
	} {
		got, err := parseBytes(in)
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fast", "-1MB", "MB", "1XB"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q) accepted", bad)
		}
	}
}

func TestCheckListenAddress(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:9230", false, true},
		{"localhost:0", false, true},
		{"[::1]:80", false, true},
		{"127.8.9.10:1", false, true},
		{"0.0.0.0:9230", false, false},
		{":9230", false, false},
		{"192.0.2.1:9230", false, false},
		{"0.0.0.0:9230", true, true},
		{"nonsense", false, false},
	} {
		err := checkListenAddress(tc.addr, tc.remote)
		if (err == nil) != tc.ok {
			t.Errorf("checkListenAddress(%q, %v) = %v", tc.addr, tc.remote, err)
		}
	}
}
