package oss

import (
	"encoding/json"
	"testing"
	"time"
)

func TestWireTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		`1463785698600`:          time.UnixMilli(1463785698600),
		`1463785698`:             time.Unix(1463785698, 0),
		`"1463785698600"`:        time.UnixMilli(1463785698600),
		`"2022-01-25T00:00:00Z"`: time.Date(2022, 1, 25, 0, 0, 0, 0, time.UTC),
		`null`:                   {},
		`0`:                      {},
		`1.4637856986e12`:        time.UnixMilli(1463785698600),
	} {
		var v wireTime
		if err := json.Unmarshal([]byte(in), &v); err != nil || !v.Equal(want) {
			t.Errorf("%s: %v, %v; want %v", in, v.Time, err, want)
		}
	}
	var v wireTime
	if err := json.Unmarshal([]byte(`"tomorrow"`), &v); err == nil {
		t.Error("bad timestamp accepted")
	}
}

func TestWireSize(t *testing.T) {
	var s wireSize
	if err := json.Unmarshal([]byte(`12582912`), &s); err != nil || s.Value != 12582912 {
		t.Errorf("int: %+v %v", s, err)
	}
	s = wireSize{}
	if err := json.Unmarshal([]byte(`{"expected":1,"detected":12582912}`), &s); err != nil || s.Expected != 1 || s.Detected != 12582912 || s.Value != 0 {
		t.Errorf("object: %+v %v", s, err)
	}
}

func TestWireMetadata(t *testing.T) {
	for in, want := range map[string]string{
		`"{\"k\":\"v\"}"`: `{"k":"v"}`,
		`{ "k" : "v" }`:   `{"k":"v"}`,
		`null`:            ``,
	} {
		var m wireMetadata
		if err := json.Unmarshal([]byte(in), &m); err != nil || string(m) != want {
			t.Errorf("%s: %q %v, want %q", in, m, err, want)
		}
	}
}

func TestExpiresIn(t *testing.T) {
	for in, want := range map[string]time.Duration{`3599`: 3599 * time.Second, `"60"`: time.Minute, `0`: 0, ``: 0, `"x"`: 0} {
		if got := expiresIn(json.RawMessage(in)); got != want {
			t.Errorf("expires_in %s = %v, want %v", in, got, want)
		}
	}
}
