// Package usergatewayclient is a small client for callers of the gateway,
// the Go twin of client/user_profile_client.h: one call with a deadline, and
// the gateway's error details decoded so that callers branch on the reason
// and honour the retry delay without parsing text.
//
// Example:
//
//	c, err := usergatewayclient.New("usergateway:50051")
//	if err != nil { ... }
//	defer c.Close()
//	res, err := c.UpdateFirstName(ctx, "ent-1", "3f1c...", "Ada",
//		usergatewayclient.CallOptions{Timeout: 2 * time.Second})
//	var gwErr *usergatewayclient.GatewayError
//	switch {
//	case err == nil:
//		fmt.Println(res.User.GetFirstName(), res.RequestID)
//	case errors.As(err, &gwErr) && gwErr.Reason == "UPSTREAM_RATE_LIMITED":
//		// retry after gwErr.RetryDelay
//	}
//
// The stubs (package usergatewayv1) are generated from proto/ by
// client/go/generate.sh.
package usergatewayclient

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "usergateway/client/go/usergatewayv1"
)

// RequestIDKey is the metadata key of the request id, in both directions:
// sent to choose one, returned (response header) on every call.
const RequestIDKey = "x-request-id"

// DefaultTimeout is the deadline of a call whose CallOptions.Timeout is 0
// and whose context has no deadline: a call never waits forever.
const DefaultTimeout = 5 * time.Second

// FieldViolation is one google.rpc.BadRequest field violation.
type FieldViolation struct {
	Field, Description string
}

// GatewayError is a failed call: the status as received and its details
// decoded. It is the error UpdateFirstName returns for every gRPC status.
type GatewayError struct {
	Code     codes.Code
	Message  string
	Reason   string            // ErrorInfo.reason, "" when the status had none
	Domain   string            // ErrorInfo.domain
	Metadata map[string]string // ErrorInfo.metadata (request_id, http_status, ...)
	// BadRequest field violations.
	FieldViolations []FieldViolation
	// RetryInfo: the delay, and whether the status had one.
	RetryDelay    time.Duration
	HasRetryDelay bool
	// The x-request-id response header; "" when no answer came from the
	// gateway (the deadline passed first, the connection failed).
	RequestID string
}

func (e *GatewayError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("usergateway: %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("usergateway: %s (%s): %s", e.Code, e.Reason, e.Message)
}

// GRPCStatus lets status.FromError and status.Code see the code.
func (e *GatewayError) GRPCStatus() *status.Status {
	return status.New(e.Code, e.Message)
}

// DecodeStatus decodes the details of a status made by the gateway.
// Unknown detail types are ignored; a status without details (e.g. one made
// by the gRPC library itself, such as a local deadline) gives only the code
// and message.
func DecodeStatus(st *status.Status) *GatewayError {
	e := &GatewayError{Code: st.Code(), Message: st.Message(),
		Metadata: map[string]string{}}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			e.Reason, e.Domain = d.GetReason(), d.GetDomain()
			for k, v := range d.GetMetadata() {
				e.Metadata[k] = v
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				e.FieldViolations = append(e.FieldViolations,
					FieldViolation{v.GetField(), v.GetDescription()})
			}
		case *errdetails.RetryInfo:
			e.RetryDelay = d.GetRetryDelay().AsDuration()
			e.HasRetryDelay = true
		}
	}
	return e
}

// Client is one channel to the gateway. Safe for concurrent use: share one
// per target.
type Client struct {
	conn *grpc.ClientConn
	stub pb.UserProfileGatewayClient
}

// New connects (lazily) to target, in gRPC target syntax, e.g.
// "dns:///usergateway.ns.svc:50051" for client-side round robin over a
// headless Service. Plain text unless opts carry transport credentials
// (grpc.WithTransportCredentials(credentials.NewTLS(...)) for TLS or mTLS).
func New(target string, opts ...grpc.DialOption) (*Client, error) {
	all := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
	}
	conn, err := grpc.NewClient(target, append(all, opts...)...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, stub: pb.NewUserProfileGatewayClient(conn)}, nil
}

// Close closes the channel.
func (c *Client) Close() error { return c.conn.Close() }

// CallOptions are a call's optional settings.
type CallOptions struct {
	// Timeout is the call's deadline from now (also bounded by ctx's own);
	// 0 means DefaultTimeout unless ctx has a deadline.
	Timeout time.Duration
	// RequestID, when set, is sent as x-request-id (the gateway uses it when
	// it is 1 to 128 visible ASCII characters).
	RequestID string
	// Metadata: extra pairs to send, e.g. keys the gateway's
	// --forward_metadata passes upstream.
	Metadata map[string]string
}

// Result is a successful call.
type Result struct {
	User *pb.User
	// The x-request-id response header: quote it when reporting a problem.
	RequestID string
}

// UpdateFirstName makes one blocking UpdateUserProfile. It returns the user,
// or a *GatewayError for every gRPC status (errors.As).
func (c *Client) UpdateFirstName(ctx context.Context, enterpriseID, userID,
	firstName string, opts CallOptions) (*Result, error) {
	timeout := opts.Timeout
	if _, has := ctx.Deadline(); timeout == 0 && !has {
		timeout = DefaultTimeout
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	md := metadata.New(opts.Metadata)
	if opts.RequestID != "" {
		md.Set(RequestIDKey, opts.RequestID)
	}
	ctx = metadata.NewOutgoingContext(ctx, md)
	var header, trailer metadata.MD
	resp, err := c.stub.UpdateUserProfile(ctx, &pb.UpdateUserProfileRequest{
		EnterpriseId: enterpriseID, UserId: userID, FirstName: firstName,
	}, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		e := DecodeStatus(status.Convert(err))
		// An error may come as trailers only; the header is then there.
		e.RequestID = first(header.Get(RequestIDKey), trailer.Get(RequestIDKey))
		return nil, e
	}
	return &Result{User: resp.GetUser(),
		RequestID: first(header.Get(RequestIDKey))}, nil
}

// first returns the first value of the first non-empty list, or "".
func first(lists ...[]string) string {
	for _, l := range lists {
		if len(l) > 0 {
			return l[0]
		}
	}
	return ""
}
