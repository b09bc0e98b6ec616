// The client against the real gateway in front of the real upstream
// emulator (internal/teststack starts both): what a Go caller would check.
package usergatewayclient_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"usergateway/client/go/internal/teststack"
	"usergateway/client/go/usergatewayclient"
	pb "usergateway/client/go/usergatewayv1"
)

func TestMain(m *testing.M) { teststack.Main(m) }

func newClient(t *testing.T) *usergatewayclient.Client {
	t.Helper()
	c, err := usergatewayclient.New(teststack.Get(t).Target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// updateError makes one call and returns the *GatewayError, failing the test on
// success or another error type.
func updateError(t *testing.T, userID, firstName string, opts usergatewayclient.CallOptions) *usergatewayclient.GatewayError {
	t.Helper()
	res, err := newClient(t).UpdateFirstName(context.Background(),
		teststack.AdaEnterpriseID, userID, firstName, opts)
	var e *usergatewayclient.GatewayError
	if !errors.As(err, &e) {
		t.Fatalf("got (%v, %v), want a *GatewayError", res, err)
	}
	return e
}

func TestUpdateReturnsTheUser(t *testing.T) {
	res, err := newClient(t).UpdateFirstName(context.Background(),
		teststack.AdaEnterpriseID, teststack.AdaUserID, "Augusta",
		usergatewayclient.CallOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	u := res.User
	if u.GetId() != 101 || u.GetUsername() != "ada.lovelace" ||
		u.GetFirstName() != "Augusta" || u.GetFullName() != "Augusta Lovelace" {
		t.Errorf("user = %v", u)
	}
	if p := u.GetProfile(); p.GetAuthnUserId() != teststack.AdaUserID ||
		p.GetRoleEnum() != pb.Role_ROLE_ENTERPRISE_ADMIN || len(p.GetGroups()) != 2 ||
		p.GetGroups()[0].GetDeviceCount() != 1284 {
		t.Errorf("profile = %v", p)
	}
	if !u.GetEmmEnabled() || u.GetEmm() == nil {
		t.Errorf("emm = %v, has_emm = %v", u.GetEmm(), u.GetEmmEnabled())
	}
	if len(res.RequestID) != 36 { // a new UUID when the caller sent none
		t.Errorf("RequestID = %q, want a UUID", res.RequestID)
	}
}

func TestCallerRequestIDComesBack(t *testing.T) {
	res, err := newClient(t).UpdateFirstName(context.Background(),
		teststack.AdaEnterpriseID, teststack.AdaUserID, "Ada",
		usergatewayclient.CallOptions{RequestID: "go-req-1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.RequestID != "go-req-1" {
		t.Errorf("RequestID = %q, want go-req-1", res.RequestID)
	}
}

func TestNotFoundHasDecodedErrorInfo(t *testing.T) {
	e := updateError(t, teststack.UnknownUserID, "Ada", usergatewayclient.CallOptions{})
	if e.Code != codes.NotFound || !strings.Contains(e.Message, "User not found") {
		t.Errorf("status = %v %q", e.Code, e.Message)
	}
	if e.Reason != "UPSTREAM_NOT_FOUND" || e.Domain != "usergateway.v1" {
		t.Errorf("reason, domain = %q, %q", e.Reason, e.Domain)
	}
	if e.Metadata["http_status"] != "404" || e.Metadata["attempts"] != "1" {
		t.Errorf("metadata = %v", e.Metadata)
	}
	// The id of the x-request-id header is the one in ErrorInfo.
	if e.RequestID == "" || e.Metadata["request_id"] != e.RequestID {
		t.Errorf("header x-request-id %q, ErrorInfo request_id %q", e.RequestID, e.Metadata["request_id"])
	}
	if status.Code(e) != codes.NotFound { // GRPCStatus
		t.Errorf("status.Code = %v", status.Code(e))
	}
}

func TestInvalidRequestHasFieldViolations(t *testing.T) {
	e := updateError(t, "", "", usergatewayclient.CallOptions{RequestID: "go-bad-1"})
	if e.Code != codes.InvalidArgument || e.Reason != "INVALID_REQUEST" {
		t.Errorf("code, reason = %v, %q", e.Code, e.Reason)
	}
	fields := map[string]bool{}
	for _, v := range e.FieldViolations {
		if v.Description == "" {
			t.Errorf("violation %q has no description", v.Field)
		}
		fields[v.Field] = true
	}
	if len(fields) != 2 || !fields["user_id"] || !fields["first_name"] {
		t.Errorf("violations = %v, want user_id and first_name", e.FieldViolations)
	}
	if e.RequestID != "go-bad-1" || e.Metadata["request_id"] != "go-bad-1" {
		t.Errorf("request ids = %q, %q", e.RequestID, e.Metadata["request_id"])
	}
}

func TestUpstreamBadRequestNamesTheField(t *testing.T) {
	// 151 characters: within this gateway's --max_first_name_chars=200,
	// over the emulator's 150.
	e := updateError(t, teststack.AdaUserID, strings.Repeat("A", 151), usergatewayclient.CallOptions{})
	if e.Code != codes.InvalidArgument || e.Reason != "UPSTREAM_INVALID_ARGUMENT" ||
		e.Metadata["http_status"] != "400" {
		t.Errorf("code, reason, metadata = %v, %q, %v", e.Code, e.Reason, e.Metadata)
	}
	if len(e.FieldViolations) != 1 || e.FieldViolations[0].Field != "first_name" ||
		!strings.Contains(e.FieldViolations[0].Description, "150 characters") {
		t.Errorf("violations = %v", e.FieldViolations)
	}
}

// fault is CallOptions carrying x-emulator-fault, which the gateway forwards
// (--forward_metadata), so the emulator answers this call with it.
func fault(f string, timeout time.Duration) usergatewayclient.CallOptions {
	return usergatewayclient.CallOptions{Timeout: timeout,
		Metadata: map[string]string{"x-emulator-fault": f}}
}

func TestDeadlineEndsTheCallInTime(t *testing.T) {
	start := time.Now()
	e := updateError(t, teststack.AdaUserID, "Ada", fault("delay_ms=5000", 500*time.Millisecond))
	elapsed := time.Since(start)
	if e.Code != codes.DeadlineExceeded {
		t.Errorf("code = %v, want DeadlineExceeded", e.Code)
	}
	if elapsed > 3*time.Second {
		t.Errorf("the call took %v with a 500 ms deadline", elapsed)
	}
	// Whoever ended the call, the gateway (just before the deadline: it
	// keeps a margin) or grpc-go (at the deadline), it is DEADLINE_EXCEEDED;
	// the gateway's answer says so in ErrorInfo too.
	if e.Reason != "" && e.Reason != "DEADLINE_EXCEEDED" {
		t.Errorf("reason = %q", e.Reason)
	}
}

func TestContextDeadlineIsHonoured(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := newClient(t).UpdateFirstName(ctx, teststack.AdaEnterpriseID,
		teststack.AdaUserID, "Ada", fault("delay_ms=5000", 0))
	if status.Code(err) != codes.DeadlineExceeded || time.Since(start) > 3*time.Second {
		t.Errorf("got %v after %v, want DeadlineExceeded within 3 s", err, time.Since(start))
	}
}

func TestUpstream503GivesRetryInfo(t *testing.T) {
	e := updateError(t, teststack.AdaUserID, "Ada",
		fault("action=status;status=503;retry_after=2", 10*time.Second))
	if e.Code != codes.Unavailable || e.Reason != "UPSTREAM_UNAVAILABLE" ||
		e.Metadata["http_status"] != "503" {
		t.Errorf("code, reason, metadata = %v, %q, %v", e.Code, e.Reason, e.Metadata)
	}
	if !e.HasRetryDelay || e.RetryDelay != 2*time.Second {
		t.Errorf("retry delay = %v (%v), want 2s", e.RetryDelay, e.HasRetryDelay)
	}
	if e.RequestID == "" || e.Metadata["request_id"] != e.RequestID {
		t.Errorf("request ids = %q, %q", e.RequestID, e.Metadata["request_id"])
	}
}

func TestGatewayOverloadGivesRetryInfo(t *testing.T) {
	stack := teststack.Get(t)
	c, err := usergatewayclient.New(stack.OverloadedTarget)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// One call held by the emulator fills the gateway's one slot.
	held := make(chan error, 1)
	go func() {
		opts := fault("delay_ms=3000", 10*time.Second)
		opts.RequestID = "go-held-1"
		_, err := c.UpdateFirstName(context.Background(), teststack.AdaEnterpriseID,
			teststack.AdaUserID, "Ada", opts)
		held <- err
	}()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if in, err := stack.EmulatorReceived("go-held-1"); err != nil || in {
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the held call did not reach the emulator: %v", <-held)
		}
	}
	_, err = c.UpdateFirstName(context.Background(), teststack.AdaEnterpriseID,
		teststack.AdaUserID, "Ada", usergatewayclient.CallOptions{})
	var e *usergatewayclient.GatewayError
	if !errors.As(err, &e) || e.Reason != "GATEWAY_OVERLOADED" || e.Code != codes.Unavailable {
		t.Fatalf("got %v while a call held --max_in_flight=1, want GATEWAY_OVERLOADED", err)
	}
	if !e.HasRetryDelay || e.RetryDelay <= 0 {
		t.Errorf("retry delay %v (%v), want a RetryInfo delay", e.RetryDelay, e.HasRetryDelay)
	}
	if e.Metadata["attempts"] != "0" || e.RequestID == "" || e.Metadata["request_id"] != e.RequestID {
		t.Errorf("metadata %v, header request id %q", e.Metadata, e.RequestID)
	}
	if err := <-held; err != nil {
		t.Errorf("the held call: %v", err)
	}
}

func TestStatusWithoutDetailsDecodesToCodeAndMessage(t *testing.T) {
	e := usergatewayclient.DecodeStatus(status.New(codes.Unavailable, "no route"))
	if e.Code != codes.Unavailable || e.Message != "no route" || e.Reason != "" ||
		len(e.FieldViolations) != 0 || e.HasRetryDelay {
		t.Errorf("decoded %+v", e)
	}
	if got := fmt.Sprint(e); got != "usergateway: Unavailable: no route" {
		t.Errorf("Error() = %q", got)
	}
}
