// Command update_user_profile is a command-line caller of the gateway, the
// Go twin of the C++ //client:update_user_profile:
//
//	update_user_profile --target=127.0.0.1:50051 --enterprise_id=E \
//	    --user_id=U --first_name=Ada [--timeout_ms=5000] [--request_id=R]
//
// Prints the user's id, authn id, first and full name on success (exit 0);
// else the gRPC code, message, reason, metadata, field violations and retry
// delay (exit 1). Exit 2 for bad usage. The request id is printed either
// way. Never prints token fields.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"google.golang.org/genproto/googleapis/rpc/code"

	"usergateway/client/go/usergatewayclient"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("update_user_profile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "gateway HOST:PORT (required)")
	enterpriseID := fs.String("enterprise_id", "", "enterprise id (required)")
	userID := fs.String("user_id", "", "the user's AuthN id (required)")
	firstName := fs.String("first_name", "", "the new first name (required)")
	timeoutMS := fs.Int("timeout_ms", 5000, "deadline in milliseconds")
	requestID := fs.String("request_id", "", "x-request-id to send")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range []string{"target", "enterprise_id", "user_id", "first_name"} {
		if !set[name] {
			fmt.Fprintf(stderr, "update_user_profile: --%s is required\n", name)
			return 2
		}
	}
	if *timeoutMS <= 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "update_user_profile: --timeout_ms must be a positive integer; no positional arguments")
		return 2
	}
	client, err := usergatewayclient.New(*target)
	if err != nil {
		fmt.Fprintf(stderr, "update_user_profile: %v\n", err)
		return 2
	}
	defer client.Close()
	res, err := client.UpdateFirstName(context.Background(), *enterpriseID,
		*userID, *firstName, usergatewayclient.CallOptions{
			Timeout:   time.Duration(*timeoutMS) * time.Millisecond,
			RequestID: *requestID})
	if err == nil {
		u := res.User
		fmt.Fprintf(stdout, "OK id=%d authn_user_id=%s first_name=%s full_name=%s\n",
			u.GetId(), u.GetProfile().GetAuthnUserId(), u.GetFirstName(), u.GetFullName())
		fmt.Fprintf(stdout, "  request_id=%s\n", res.RequestID)
		return 0
	}
	var e *usergatewayclient.GatewayError
	if !errors.As(err, &e) {
		fmt.Fprintf(stderr, "update_user_profile: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "ERROR code=%d (%s) message=%s\n", int(e.Code), code.Code(e.Code).String(), e.Message)
	if e.Reason != "" {
		fmt.Fprintf(stdout, "  reason=%s domain=%s\n", e.Reason, e.Domain)
	}
	keys := make([]string, 0, len(e.Metadata))
	for k := range e.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "  %s=%s\n", k, e.Metadata[k])
	}
	for _, v := range e.FieldViolations {
		fmt.Fprintf(stdout, "  violation %s: %s\n", v.Field, v.Description)
	}
	if e.HasRetryDelay {
		fmt.Fprintf(stdout, "  retry_after_ms=%d\n", e.RetryDelay.Milliseconds())
	}
	if _, inMetadata := e.Metadata["request_id"]; e.RequestID != "" && !inMetadata {
		fmt.Fprintf(stdout, "  request_id=%s\n", e.RequestID)
	}
	return 1
}
