// The command against the real gateway and emulator (internal/teststack).
package main

import (
	"bytes"
	"strings"
	"testing"

	"usergateway/client/go/internal/teststack"
)

func TestMain(m *testing.M) { teststack.Main(m) }

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	rc := run(args, &stdout, &stderr)
	return rc, stdout.String(), stderr.String()
}

func TestSuccessPrintsTheUser(t *testing.T) {
	rc, out, errOut := runCLI(t, "--target="+teststack.Get(t).Target,
		"--enterprise_id="+teststack.AdaEnterpriseID,
		"--user_id="+teststack.AdaUserID, "--first_name=Ada", "--request_id=go-cli-1")
	want := "OK id=101 authn_user_id=" + teststack.AdaUserID +
		" first_name=Ada full_name=Ada Lovelace\n  request_id=go-cli-1\n"
	if rc != 0 || out != want {
		t.Errorf("exit %d, stdout %q (stderr %q), want 0, %q", rc, out, errOut, want)
	}
	if strings.Contains(out, "token") {
		t.Errorf("a token field was printed: %q", out)
	}
}

func TestNotFoundPrintsTheDetails(t *testing.T) {
	rc, out, _ := runCLI(t, "--target="+teststack.Get(t).Target,
		"--enterprise_id="+teststack.AdaEnterpriseID,
		"--user_id="+teststack.UnknownUserID, "--first_name=Ada")
	for _, want := range []string{"ERROR code=5 (NOT_FOUND) message=Not found: User not found\n",
		"  reason=UPSTREAM_NOT_FOUND domain=usergateway.v1\n", "  http_status=404\n", "  request_id="} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout %q lacks %q", out, want)
		}
	}
	if rc != 1 {
		t.Errorf("exit %d, want 1", rc)
	}
}

func TestBadUsageExits2(t *testing.T) {
	for _, args := range [][]string{
		{"--target=x"},
		{"--target=x", "--enterprise_id=e", "--user_id=u", "--first_name=f", "--timeout_ms=0"},
		{"--no_such_flag=1"},
	} {
		if rc, _, _ := runCLI(t, args...); rc != 2 {
			t.Errorf("%v: exit %d, want 2", args, rc)
		}
	}
}
