package transfer

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ossfs/ossfs/emulator"
	"github.com/ossfs/ossfs/internal/testbytes"
	"github.com/ossfs/ossfs/oss"
)

func smallItems(n int, prefix string) []SmallUpload {
	items := make([]SmallUpload, n)
	for i := range items {
		items[i] = SmallUpload{
			Key:     fmt.Sprintf("%s%02d", prefix, i),
			Data:    testbytes.Pattern{Seed: uint64(i)}.Bytes(0, int64(i*1021)),
			Options: UploadOptions{UserMetadata: fmt.Sprintf(`{"i":%d}`, i)},
		}
	}
	return items
}

// checkSmall fails unless every item that succeeded is in APS with its bytes.
func (v *env) checkSmall(t *testing.T, items []SmallUpload, res []SmallResult) {
	t.Helper()
	for i, it := range items {
		if res[i].Err != nil {
			continue
		}
		if res[i].Object == nil || res[i].Object.SHA1 != sha1Hex(it.Data) || res[i].Object.Size != int64(len(it.Data)) {
			t.Fatalf("%s: result %+v, want %d bytes sha1 %s", it.Key, res[i].Object, len(it.Data), sha1Hex(it.Data))
		}
		var out bytes.Buffer
		if _, err := v.e.DownloadTo(ctx(t), bucket, it.Key, &out); err != nil || sha1Hex(out.Bytes()) != sha1Hex(it.Data) {
			t.Fatalf("%s read back: %d bytes, %v", it.Key, out.Len(), err)
		}
		o, err := v.c.ObjectDetails(ctx(t), bucket, it.Key, oss.DetailsOptions{With: []string{oss.WithUserMetadata}})
		if err != nil || o.UserMetadata != it.Options.UserMetadata {
			t.Fatalf("%s metadata: %+v %v", it.Key, o, err)
		}
	}
}

// 30 small objects cost 2 batch URL calls, 30 PUTs and 2 batch completions.
func TestUploadSmallBatches(t *testing.T) {
	v := newEnv(t, nil)
	items := smallItems(30, "s/")
	items = append(items, SmallUpload{Key: "too-big", Data: make([]byte, MinPartSize)})
	res := v.e.UploadSmall(ctx(t), bucket, items)
	for i, r := range res[:30] {
		if r.Err != nil {
			t.Fatalf("%s: %v", items[i].Key, r.Err)
		}
	}
	if res[30].Err == nil {
		t.Fatal("an item of MinPartSize bytes was accepted")
	}
	calls := v.c.Calls()
	want := map[string]int64{oss.OpBatchSignedS3Upload: 2, oss.OpS3Upload: 30, oss.OpBatchCompleteUpload: 2}
	for op, n := range want {
		if calls[op] != n {
			t.Errorf("%s: %d calls, want %d (%v)", op, calls[op], n, calls)
		}
	}
	if calls[oss.OpSignedS3UploadGet]+calls[oss.OpSignedS3UploadComplete]+calls[oss.OpObjectsDetails] != 0 {
		t.Errorf("single-object calls in a batch upload: %v", calls)
	}
	v.checkSmall(t, items[:30], res[:30])
}

// A refused URL is replaced by a signeds3upload for the same session; a part
// S3 keeps failing fails its object only.
func TestUploadSmallFaults(t *testing.T) {
	v := newEnv(t, func(o *Options) { o.MaxURLRefreshes = 2 })
	v.emu.SetFaults([]emulator.FaultRule{
		{Endpoint: emulator.EndpointS3Upload, KeyPrefix: "f/03", Every: 1, Times: 1, ExpireURL: true},
		{Endpoint: emulator.EndpointS3Upload, KeyPrefix: "f/07", Every: 1, Status: 400},
	})
	items := smallItems(10, "f/")
	res := v.e.UploadSmall(ctx(t), bucket, items)
	for i, r := range res {
		if failed := r.Err != nil; failed != (i == 7) {
			t.Errorf("%s: %v", items[i].Key, r.Err)
		}
	}
	if n := v.c.Calls()[oss.OpSignedS3UploadGet]; n != 1 {
		t.Errorf("signeds3upload calls: %d, want 1 (for the refused URL)", n)
	}
	v.checkSmall(t, items, res)
	if o, err := v.c.ObjectDetails(ctx(t), bucket, "f/07", oss.DetailsOptions{}); err == nil {
		t.Errorf("the failed item exists: %+v", o)
	}
	if !strings.Contains(res[7].Err.Error(), "f/07") {
		t.Errorf("the error does not name the key: %v", res[7].Err)
	}
}
