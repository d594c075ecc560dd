// Command gcs recovers sessions kept in a Google Cloud Storage bucket,
// opened by URL as the command-line tool opens it.
//
//	go run ./examples/gcs
//
// It needs no Google Cloud account: it starts fake-gcs-server, an in-memory
// server speaking the Cloud Storage JSON and XML APIs, over plain HTTP on a
// loopback port, and points the storage client at it with
// STORAGE_EMULATOR_HOST. It fills a bucket with a few sessions under
// sessions/, opens gs://BUCKET?prefix=sessions/ with backends.Open, runs
// recovery, and prints the report, the restored session read back, and the
// keys the bucket holds after.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"gocloud.dev/blob"

	"github.com/c0fe5641/sessionrecovery/backends"
	"github.com/c0fe5641/sessionrecovery/recovery"
)

const bucketName = "example-sessions"

func main() {
	ctx := context.Background()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	// The fake serves the XML API (which the client reads objects through)
	// only to requests whose Host is PublicHost, so it must be the address
	// the client dials.
	fake, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		NoListener:  true,
		Scheme:      "http",
		PublicHost:  addr,
		ExternalURL: "http://" + addr,
	})
	if err != nil {
		log.Fatalf("start fake-gcs-server: %v", err)
	}
	defer fake.Stop()
	fake.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucketName})
	server := &http.Server{Handler: fake.HTTPHandler()}
	go func() {
		if err := server.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			log.Fatalf("serve fake-gcs-server: %v", err)
		}
	}()
	defer server.Shutdown(ctx)

	if err := os.Setenv("STORAGE_EMULATOR_HOST", addr); err != nil {
		log.Fatalf("set STORAGE_EMULATOR_HOST: %v", err)
	}
	bucketURL := "gs://" + bucketName

	bucket, err := blob.OpenBucket(ctx, bucketURL)
	if err != nil {
		log.Fatalf("open bucket %s: %v", bucketURL, err)
	}
	write := func(key, doc string) {
		opts := &blob.WriterOptions{ContentType: "application/json"}
		if err := bucket.WriteAll(ctx, key, []byte(doc), opts); err != nil {
			log.Fatalf("write %s: %v", key, err)
		}
	}
	// A bug saved a stub over a session; the save path had kept a backup.
	write("sessions/chat.json", `{"title":"chat","messages":[]}`)
	write("sessions/chat.json.bak", `{"title":"chat","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"plan a trip"}]}`)
	// A healthy session with an older, shorter backup.
	write("sessions/notes.json", `{"title":"notes","messages":[{"role":"user","content":"remember milk"},{"role":"assistant","content":"noted"}]}`)
	write("sessions/notes.json.bak", `{"title":"notes","messages":[{"role":"user","content":"remember milk"}]}`)
	// A session that never shrank, so never got a backup.
	write("sessions/todo.json", `{"title":"todo","messages":[{"role":"user","content":"call the bank"}]}`)
	write("sessions/_index.json", `["chat","notes","todo"]`)

	location := bucketURL + "?prefix=sessions/"
	fmt.Printf("location: %s (STORAGE_EMULATOR_HOST=%s)\n", location, addr)
	s, closeStore, err := backends.Open(ctx, location)
	if err != nil {
		log.Fatalf("open %s: %v", location, err)
	}
	report, err := recovery.RecoverAll(ctx, s, recovery.Options{})
	if err != nil {
		log.Fatalf("recover: %v", err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(report); err != nil {
		log.Fatalf("print report: %v", err)
	}
	if err := closeStore(); err != nil {
		log.Fatalf("close store: %v", err)
	}

	restored, err := bucket.ReadAll(ctx, "sessions/chat.json")
	if err != nil {
		log.Fatalf("read back sessions/chat.json: %v", err)
	}
	var doc struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(restored, &doc); err != nil {
		log.Fatalf("parse sessions/chat.json: %v", err)
	}
	fmt.Printf("sessions/chat.json now has %d messages\n", len(doc.Messages))

	fmt.Printf("bucket %s now holds:\n", bucketName)
	iter := bucket.List(nil)
	for {
		obj, err := iter.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatalf("list bucket %s: %v", bucketName, err)
		}
		fmt.Printf("  %-28s %4d bytes\n", obj.Key, obj.Size)
	}
	if err := bucket.Close(); err != nil {
		log.Fatalf("close bucket %s: %v", bucketName, err)
	}

	fmt.Println("against a real bucket, with your Application Default Credentials:")
	fmt.Println("  sessionrecovery recover 'gs://my-bucket?prefix=sessions/'")
}
