package emulator

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// putConcurrently PUTs parts[i] to urls[i] in parallel, with a download
// of hot alongside each, and returns the ETags.
func putConcurrently(t *testing.T, urls []any, parts [][]byte, hot string, hotSize int) []string {
	t.Helper()
	etags := make([]string, len(parts))
	errs := make(chan error, 2*len(parts))
	var wg sync.WaitGroup
	for i := range parts {
		wg.Add(2)
		go func() {
			defer wg.Done()
			res, err := http.DefaultClient.Do(mustRequest(http.MethodPut, urls[i].(string), parts[i]))
			if err != nil {
				errs <- err
				return
			}
			res.Body.Close()
			etags[i] = strings.Trim(res.Header.Get("ETag"), `"`)
		}()
		go func() {
			defer wg.Done()
			res, err := http.Get(hot)
			if err != nil {
				errs <- err
				return
			}
			data, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || len(data) != hotSize {
				errs <- fmt.Errorf("hot read: %d bytes, %v", len(data), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return etags
}

func TestConcurrentPartsAndReads(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("conc")
	must(t, e.srv.PutObject("conc", "hot", pattern(64<<10, 4), ""))
	hot := e.downloadURL("conc", "hot", "")

	// Many small parts at once: every one is stored under its number.
	many := e.startUpload("conc", "many", "parts=20")
	small := make([][]byte, 20)
	for i := range small {
		small[i] = pattern(1000+i, byte(i))
	}
	etags := putConcurrently(t, many["urls"].([]any), small, hot, 64<<10)
	u, err := e.srv.store.Upload(mustUploadID(t, many["uploadKey"].(string)))
	must(t, err)
	for i, p := range small {
		if got := u.Parts[i+1]; got.ETag != md5hex(p) || etags[i] != got.ETag || got.Size != int64(len(p)) {
			t.Errorf("part %d stored as %+v, PUT answered %s", i+1, got, etags[i])
		}
	}

	// A real multipart object assembled from parallel PUTs.
	ans := e.startUpload("conc", "parallel", "parts=3")
	parts := [][]byte{pattern(minPartSize, 1), pattern(minPartSize, 2), pattern(10, 3)}
	etags = putConcurrently(t, ans["urls"].([]any), parts, hot, 64<<10)
	e.complete("conc", "parallel", map[string]any{"uploadKey": ans["uploadKey"], "eTags": etags}, nil).want(t, http.StatusOK)
	got := e.get(e.downloadURL("conc", "parallel", ""), "").want(t, http.StatusOK)
	if !bytes.Equal(got.body, bytes.Join(parts, nil)) {
		t.Error("assembled bytes differ")
	}
}

func mustRequest(method, url string, body []byte) *http.Request {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	return req
}

// A write in progress (here, a PutObject whose body has not arrived) must
// not block readers of other objects: stores stage bytes outside their lock.
func TestSlowWriteDoesNotBlockReads(t *testing.T) {
	for name, st := range map[string]Store{"mem": NewMemStore(), "disk": mustDisk(t)} {
		t.Run(name, func(t *testing.T) {
			defer st.Close()
			must(t, st.CreateBucket(Bucket{Key: "bkt", Owner: ownerID}))
			_, err := st.PutObject(Object{BucketKey: "bkt", ObjectKey: "other"}, strings.NewReader("x"))
			must(t, err)
			pr, pw := io.Pipe()
			written := make(chan error, 1)
			go func() {
				_, err := st.PutObject(Object{BucketKey: "bkt", ObjectKey: "slow"}, pr)
				written <- err
			}()
			_, err = pw.Write([]byte("first half ")) // the writer is now inside PutObject
			must(t, err)
			read := make(chan error, 1)
			go func() {
				_, blob, err := st.OpenObject("bkt", "other")
				if err == nil {
					blob.Close()
				}
				read <- err
			}()
			select {
			case err := <-read:
				must(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("a read waited for an unfinished write")
			}
			if _, err := st.Object("bkt", "slow"); err == nil {
				t.Error("object visible before its bytes are complete")
			}
			pw.Write([]byte("second half"))
			pw.Close()
			must(t, <-written)
			o, err := st.Object("bkt", "slow")
			if err != nil || o.Size != int64(len("first half second half")) {
				t.Errorf("after write: %+v %v", o, err)
			}
		})
	}
}

func mustDisk(t *testing.T) Store {
	st, err := NewDiskStore(t.TempDir())
	must(t, err)
	return st
}

func TestZeroByteUpload(t *testing.T) {
	e := newEnv(t, nil)
	e.createBucket("zero")
	body := e.upload("zero", "empty", nil)
	if body["size"] != float64(0) {
		t.Errorf("size %v", body["size"])
	}
	d := e.oss(http.MethodGet, objectPath("zero", "empty", "details"), nil).json(t)
	if d["sha1"] != "da39a3ee5e6b4b0d3255bfef95601890afd80709" {
		t.Errorf("sha1 of nothing: %v", d["sha1"])
	}
}
