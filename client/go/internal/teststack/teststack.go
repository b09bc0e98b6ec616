// Package teststack starts the real upstream emulator (HTTPS, a CA made for
// the run) and the real gateway binary on loopback ports the kernel picks,
// for the tests of client/go. USERGATEWAY_BIN and EMULATOR_BIN name the
// binaries (client/go/run_tests.sh sets them, building them with Bazel when
// unset); without them every test fails with the reason, never skips.
package teststack

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Ada Lovelace in tests/emulator/testdata/users.json (the emulator's
// default fixture).
const (
	AdaUserID       = "3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d"
	AdaEnterpriseID = "9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79"
	UnknownUserID   = "00000000-0000-4000-8000-0000000060c1"
)

const (
	apiKey       = "goclient-key-2b9e4f71c08d"
	startTimeout = 60 * time.Second
)

// Stack is a running emulator and two gateways in front of it.
type Stack struct {
	Target string // the gateway, HOST:PORT
	// A gateway with --max_in_flight=1 (otherwise the same), HOST:PORT.
	OverloadedTarget string
	dir              string
	emulatorURL      string
	processes        []process
}

type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned
}

// Start starts them. The caller must Stop the stack, also after an error.
func Start() (*Stack, error) {
	s := &Stack{}
	bins := map[string]string{}
	for _, name := range []string{"USERGATEWAY_BIN", "EMULATOR_BIN"} {
		path := os.Getenv(name)
		if info, err := os.Stat(path); path == "" || err != nil || info.Mode()&0o111 == 0 {
			return s, fmt.Errorf("%s=%q is not an executable file; run client/go/run_tests.sh (it builds the binaries) or set %s", name, path, name)
		}
		bins[name] = path
	}
	dir, err := os.MkdirTemp("", "goclient.")
	if err != nil {
		return s, err
	}
	s.dir = dir
	emulatorPort, err := s.start("emulator", bins["EMULATOR_BIN"],
		"--listen=127.0.0.1:0", "--api_key="+apiKey,
		"--self_signed_tls_dir="+filepath.Join(dir, "tls"), "--log_requests=false")
	if err != nil {
		return s, err
	}
	s.emulatorURL = fmt.Sprintf("https://127.0.0.1:%d", emulatorPort)
	if err := os.WriteFile(filepath.Join(dir, "api_key"), []byte(apiKey), 0o600); err != nil {
		return s, err
	}
	gateway := func(name string, extra ...string) (string, error) {
		port, err := s.start(name, bins["USERGATEWAY_BIN"], append([]string{
			"--listen=127.0.0.1:0",
			"--upstream_base_url=" + s.emulatorURL + "/api",
			"--ca_bundle=" + filepath.Join(dir, "tls", "ca.pem"),
			"--api_key_file=" + filepath.Join(dir, "api_key"),
			// Lets a test ask the emulator for a fault per call.
			"--forward_metadata=x-emulator-fault",
			// One attempt: a 503 fault reaches the caller at once.
			"--max_attempts=1",
			// Above the emulator's 150, so that the upstream's own 400 for
			// a long first_name reaches the caller.
			"--max_first_name_chars=200",
			"--drain_delay_ms=0", "--drain_grace_ms=1000"}, extra...)...)
		return fmt.Sprintf("127.0.0.1:%d", port), err
	}
	if s.Target, err = gateway("gateway"); err != nil {
		return s, err
	}
	// One call in flight at most: a second one gets GATEWAY_OVERLOADED.
	s.OverloadedTarget, err = gateway("gateway_one_call", "--max_in_flight=1")
	return s, err
}

var (
	shared    *Stack
	sharedErr error
)

// Main is a test package's TestMain: it starts the stack, runs the tests and
// stops it.
func Main(m *testing.M) {
	shared, sharedErr = Start()
	code := m.Run()
	shared.Stop()
	os.Exit(code)
}

// Get returns the stack Main started, or fails t with the reason it did not
// start.
func Get(t testing.TB) *Stack {
	t.Helper()
	if sharedErr != nil {
		t.Fatalf("the gateway and emulator did not start: %v", sharedErr)
	}
	return shared
}

// EmulatorReceived reports whether the emulator has received a request with
// X-Request-Id requestID (its GET /_emulator/requests lists a request as it
// arrives, before any delay fault).
func (s *Stack) EmulatorReceived(requestID string) (bool, error) {
	pem, err := os.ReadFile(filepath.Join(s.dir, "tls", "ca.pem"))
	if err != nil {
		return false, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(s.emulatorURL + "/_emulator/requests")
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return strings.Contains(string(body), `"`+requestID+`"`), err
}

// start runs binary with a --port_file and returns the port it wrote.
func (s *Stack) start(name, binary string, args ...string) (int, error) {
	portFile := filepath.Join(s.dir, name+".port")
	logPath := filepath.Join(s.dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	cmd := exec.Command(binary, append(args, "--port_file="+portFile)...)
	cmd.Stderr = logFile
	// Only the flags above may configure the binaries.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEWAY_") && !strings.HasPrefix(kv, "EMULATOR_") &&
			!strings.Contains(strings.ToLower(strings.SplitN(kv, "=", 2)[0]), "proxy") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.processes = append(s.processes, process{cmd, exited})
	deadline := time.Now().Add(startTimeout)
	for {
		if text, err := os.ReadFile(portFile); err == nil && len(strings.TrimSpace(string(text))) > 0 {
			return strconv.Atoi(strings.TrimSpace(string(text)))
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			return 0, fmt.Errorf("%s exited: %s", name, tail(string(log)))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s wrote no port file within %v", name, startTimeout)
		}
	}
}

// Stop ends both processes (SIGTERM, then SIGKILL after 10 s) and removes
// the temporary directory.
func (s *Stack) Stop() {
	for i := len(s.processes) - 1; i >= 0; i-- {
		p := s.processes[i]
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}
