package main

import "testing"

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
