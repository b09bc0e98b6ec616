"""Starts the real upstream emulator (HTTPS, a CA made for the run) and two
real gateways in front of it (the second with --max_in_flight=1) on
loopback ports the kernel picks, once per session.

USERGATEWAY_BIN and EMULATOR_BIN name the binaries (client/python/
run_tests.sh sets them, building them with Bazel when unset). Without them
every test errors with the reason: a missing binary never skips a test.
"""

import dataclasses
import os
import pathlib
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.request

import pytest

# Ada Lovelace in tests/emulator/testdata/users.json (the emulator's default
# fixture).
ADA_USER_ID = "3f1c9a52-7b4e-4d8a-9c21-5e6f7a8b9c0d"
ADA_ENTERPRISE_ID = "9a7e5d2b-1c3f-4e8a-b6d4-0f2e8c1a5b79"
_API_KEY = "pyclient-key-7d1e0c93a5b2"
_START_TIMEOUT_S = 60.0


@dataclasses.dataclass
class Stack:
    target: str             # the gateway, HOST:PORT
    overloaded_target: str  # a gateway with --max_in_flight=1, HOST:PORT
    emulator: str           # the emulator's base URL (https://127.0.0.1:PORT)
    work: pathlib.Path

    def emulator_received(self, request_id: str) -> bool:
        """Whether the emulator has received a request with X-Request-Id
        request_id (GET /_emulator/requests lists a request as it arrives,
        before any delay fault)."""
        context = ssl.create_default_context(cafile=str(self.work / "tls/ca.pem"))
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=context))
        with opener.open(f"{self.emulator}/_emulator/requests",
                         timeout=10) as response:
            return f'"{request_id}"' in response.read().decode()


def _binary(var: str) -> str:
    path = os.environ.get(var, "")
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"{var}={path!r} is not an executable file; run "
                    "client/python/run_tests.sh (it builds the binaries) or "
                    f"set {var}", pytrace=False)
    return path


def _wait_port(process: subprocess.Popen, port_file: pathlib.Path,
               log: pathlib.Path) -> int:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not (port_file.exists() and port_file.read_text().strip()):
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited {process.returncode}: "
                        f"{log.read_text()[-2000:]}", pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"{process.args[0]} wrote no {port_file}",
                        pytrace=False)
        time.sleep(0.05)
    return int(port_file.read_text())


@pytest.fixture(scope="session")
def stack():
    gateway_bin = _binary("USERGATEWAY_BIN")
    emulator_bin = _binary("EMULATOR_BIN")
    processes, logs = [], []
    with tempfile.TemporaryDirectory(prefix="pyclient.") as tmp:
        work = pathlib.Path(tmp)
        # Only what is set below may configure the binaries.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GATEWAY_", "EMULATOR_"))
               and "proxy" not in k.lower()}

        def start(name, binary, *args):
            """Runs binary with a --port_file; returns the port it wrote."""
            log = work / f"{name}.log"
            logs.append(log.open("w"))
            processes.append(subprocess.Popen(
                [binary, *args, f"--port_file={work}/{name}.port"],
                stdout=subprocess.DEVNULL, stderr=logs[-1], env=env))
            return _wait_port(processes[-1], work / f"{name}.port", log)

        def gateway(name, *extra):
            return "127.0.0.1:%d" % start(
                name, gateway_bin, "--listen=127.0.0.1:0",
                f"--upstream_base_url={emulator}/api",
                f"--ca_bundle={work}/tls/ca.pem",
                f"--api_key_file={work}/api_key",
                # Lets a test ask the emulator for a fault per call.
                "--forward_metadata=x-emulator-fault",
                # One attempt: a 503 fault reaches the caller at once.
                "--max_attempts=1",
                # Above the emulator's 150, so that the upstream's own 400
                # for a long first_name reaches the caller.
                "--max_first_name_chars=200",
                "--drain_delay_ms=0", "--drain_grace_ms=1000", *extra)

        try:
            emulator = "https://127.0.0.1:%d" % start(
                "emulator", emulator_bin, "--listen=127.0.0.1:0",
                f"--api_key={_API_KEY}", f"--self_signed_tls_dir={work}/tls",
                "--log_requests=false")
            (work / "api_key").write_text(_API_KEY)
            yield Stack(target=gateway("gateway"),
                        # One call in flight at most: a second one gets
                        # GATEWAY_OVERLOADED.
                        overloaded_target=gateway("gateway_one_call",
                                                  "--max_in_flight=1"),
                        emulator=emulator, work=work)
        finally:
            for process in reversed(processes):
                process.send_signal(signal.SIGTERM)
            for process in reversed(processes):
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for log_file in logs:
                log_file.close()
