// Command s3 recovers sessions kept in an S3 bucket, opened by URL as the
// command-line tool opens it.
//
//	go run ./examples/s3
//
// It needs no AWS account: it starts gofakes3, an in-memory server speaking
// the S3 REST API, on a loopback port, and points the AWS SDK at it with
// dummy credentials. It fills a bucket with a few sessions under sessions/,
// opens s3://BUCKET?endpoint=…&prefix=sessions/ with backends.Open, runs
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
	"net/http/httptest"
	"os"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"gocloud.dev/blob"

	"github.com/c0fe5641/sessionrecovery/backends"
	"github.com/c0fe5641/sessionrecovery/recovery"
)

const bucketName = "example-sessions"

func main() {
	ctx := context.Background()

	// The SDK takes credentials from its default chain; the fake accepts any.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":         "example-access-key",
		"AWS_SECRET_ACCESS_KEY":     "example-secret-key",
		"AWS_SESSION_TOKEN":         "",     // not one from your shell
		"AWS_EC2_METADATA_DISABLED": "true", // never ask an instance for credentials
	} {
		if err := os.Setenv(k, v); err != nil {
			log.Fatalf("set %s: %v", k, err)
		}
	}

	mem := s3mem.New()
	if err := mem.CreateBucket(bucketName); err != nil {
		log.Fatalf("create bucket %s: %v", bucketName, err)
	}
	server := httptest.NewServer(gofakes3.New(mem).Server())
	defer server.Close()

	// The URL's parameters point the SDK at the fake instead of AWS.
	bucketURL := "s3://" + bucketName + "?endpoint=" + server.URL +
		"&region=us-east-1&use_path_style=true&disable_https=true"

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

	location := bucketURL + "&prefix=sessions/"
	fmt.Println("location:", location)
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

	fmt.Println("against a real bucket, with credentials from your AWS configuration:")
	fmt.Println("  sessionrecovery recover 's3://my-bucket?region=eu-west-1&prefix=sessions/'")
}
