package emulator

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
)

func TestAwkwardKeysRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("keys")
	keys := []string{"folder/sub/file.txt", "with space", "plus+sign", "100%", "hash#tag", "what?", "ünïcødé/日本",
		"/leading", "a%2Fb", "trailing/"}
	for i, k := range keys {
		data := pattern(100+i, byte(i))
		e.upload("keys", k, data)
		details := e.oss(http.MethodGet, objectPath("keys", k, "details"), nil).want(t, http.StatusOK).json(t)
		if details["objectKey"] != k || details["objectId"] != "urn:adsk.objects:os.object:keys/"+k {
			t.Errorf("%q: details %v", k, details)
		}
		got := e.get(e.downloadURL("keys", k, ""), "").want(t, http.StatusOK)
		if !bytes.Equal(got.body, data) {
			t.Errorf("%q: downloaded bytes differ", k)
		}
		loc, err := url.Parse(details["location"].(string))
		if err != nil || loc.Path != "/oss/v2/buckets/keys/objects/"+k {
			t.Errorf("%q: location %v", k, details["location"])
		}
	}
	listed := map[string]bool{}
	for _, k := range e.listAll("keys", "limit=3", nil) {
		listed[k] = true
	}
	for _, k := range keys {
		if !listed[k] {
			t.Errorf("%q not listed", k)
		}
	}
	// beginsWith with special characters.
	if got := e.listAll("keys", "beginsWith="+url.QueryEscape("plus+"), nil); len(got) != 1 || got[0] != "plus+sign" {
		t.Errorf("beginsWith plus+: %v", got)
	}
}
