"""usergateway_client against the real gateway in front of the real upstream
emulator (conftest.py starts both): what a Python caller would check."""

import concurrent.futures
import os
import subprocess
import sys
import time

import grpc

from conftest import ADA_ENTERPRISE_ID, ADA_USER_ID
from usergateway_client import UserProfileClient, decode_status_details
from usergateway.v1 import user_profile_pb2

UNKNOWN_USER_ID = "00000000-0000-4000-8000-00000000c1e7"


def _client(stack):
    return UserProfileClient(stack.target)


def _with_fault(stack, fault, timeout=10.0):
    """A call for Ada carrying x-emulator-fault, which the gateway forwards
    (--forward_metadata), so the emulator answers this call with `fault`."""
    with _client(stack) as client:
        return client.update_first_name(
            ADA_ENTERPRISE_ID, ADA_USER_ID, "Ada", timeout=timeout,
            metadata=[("x-emulator-fault", fault)])


def test_update_returns_the_user(stack):
    with _client(stack) as client:
        result = client.update_first_name(ADA_ENTERPRISE_ID, ADA_USER_ID,
                                          "Augusta", timeout=10.0)
    assert result.ok, result.error
    user = result.user
    assert user.id == 101
    assert user.username == "ada.lovelace"
    assert user.first_name == "Augusta"
    assert user.full_name == "Augusta Lovelace"
    assert user.profile.authn_user_id == ADA_USER_ID
    assert user.profile.role_enum == user_profile_pb2.ROLE_ENTERPRISE_ADMIN
    assert [g.device_count for g in user.profile.groups] == [1284, 12]
    assert user.emm_enabled and user.HasField("emm")
    # A new UUID when the caller sent none.
    assert len(result.request_id) == 36, result.request_id


def test_caller_request_id_comes_back(stack):
    with _client(stack) as client:
        result = client.update_first_name(ADA_ENTERPRISE_ID, ADA_USER_ID,
                                          "Ada", timeout=10.0,
                                          request_id="py-req-1")
    assert result.ok, result.error
    assert result.request_id == "py-req-1"


def test_not_found_has_decoded_error_info(stack):
    with _client(stack) as client:
        result = client.update_first_name(ADA_ENTERPRISE_ID, UNKNOWN_USER_ID,
                                          "Ada", timeout=10.0)
    assert not result.ok and result.user is None
    error = result.error
    assert error.code == grpc.StatusCode.NOT_FOUND
    assert "User not found" in error.message
    assert error.reason == "UPSTREAM_NOT_FOUND"
    assert error.domain == "usergateway.v1"
    assert error.metadata["http_status"] == "404"
    assert error.metadata["attempts"] == "1"
    # The id of the x-request-id header is the one in ErrorInfo.
    assert result.request_id
    assert error.metadata["request_id"] == result.request_id


def test_invalid_request_has_field_violations(stack):
    with _client(stack) as client:
        result = client.update_first_name(ADA_ENTERPRISE_ID, "", "",
                                          timeout=10.0, request_id="py-bad-1")
    error = result.error
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "INVALID_REQUEST"
    assert {field for field, _ in error.field_violations} == {
        "user_id", "first_name"}
    assert all(description for _, description in error.field_violations)
    assert result.request_id == "py-bad-1"
    assert error.metadata["request_id"] == "py-bad-1"


def test_upstream_bad_request_names_the_field(stack):
    with _client(stack) as client:
        # 151 characters: within this gateway's --max_first_name_chars=200,
        # over the emulator's 150.
        result = client.update_first_name(ADA_ENTERPRISE_ID, ADA_USER_ID,
                                          "A" * 151, timeout=10.0)
    error = result.error
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "UPSTREAM_INVALID_ARGUMENT"
    assert error.metadata["http_status"] == "400"
    assert [field for field, _ in error.field_violations] == ["first_name"]
    assert "150 characters" in error.field_violations[0][1]


def test_deadline_ends_the_call_in_time(stack):
    start = time.monotonic()
    result = _with_fault(stack, "delay_ms=5000", timeout=0.5)
    elapsed = time.monotonic() - start
    assert result.error.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert elapsed < 3.0, elapsed
    # Whoever ended the call, the gateway (just before the deadline: it
    # keeps a margin) or the client library (at the deadline), it is
    # DEADLINE_EXCEEDED; the gateway's answer says so in ErrorInfo too.
    assert result.error.reason in ("", "DEADLINE_EXCEEDED")


def test_upstream_503_gives_retry_info(stack):
    result = _with_fault(stack, "action=status;status=503;retry_after=2")
    error = result.error
    assert error.code == grpc.StatusCode.UNAVAILABLE
    assert error.reason == "UPSTREAM_UNAVAILABLE"
    assert error.metadata["http_status"] == "503"
    assert error.retry_delay == 2.0
    assert error.metadata["request_id"] == result.request_id != ""


def test_gateway_overload_gives_retry_info(stack):
    with UserProfileClient(stack.overloaded_target) as client:
        # One call held by the emulator fills the gateway's one slot.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            held = pool.submit(
                client.update_first_name, ADA_ENTERPRISE_ID, ADA_USER_ID,
                "Ada", timeout=10.0, request_id="py-held-1",
                metadata=[("x-emulator-fault", "delay_ms=3000")])
            deadline = time.monotonic() + 2.0
            while not stack.emulator_received("py-held-1"):
                assert time.monotonic() < deadline, (
                    f"the held call did not reach the emulator: "
                    f"{held.result().error}")
                time.sleep(0.02)
            result = client.update_first_name(ADA_ENTERPRISE_ID, ADA_USER_ID,
                                              "Ada", timeout=10.0)
            assert held.result().ok, held.result().error
    error = result.error
    assert error.code == grpc.StatusCode.UNAVAILABLE
    assert error.reason == "GATEWAY_OVERLOADED"
    assert error.retry_delay and error.retry_delay > 0
    assert error.metadata["attempts"] == "0"
    assert error.metadata["request_id"] == result.request_id != ""


def test_status_without_details_decodes_to_code_and_message():
    error = decode_status_details(grpc.StatusCode.UNAVAILABLE, "no route", [])
    assert (error.code, error.message, error.reason) == (
        grpc.StatusCode.UNAVAILABLE, "no route", "")
    assert error.field_violations == [] and error.retry_delay is None


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "usergateway_client.cli", *args],
        capture_output=True, text=True, timeout=60, env=os.environ)


def test_cli(stack):
    ok = _cli(f"--target={stack.target}",
              f"--enterprise_id={ADA_ENTERPRISE_ID}",
              f"--user_id={ADA_USER_ID}", "--first_name=Ada",
              "--request_id=py-cli-1")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(
        f"OK id=101 authn_user_id={ADA_USER_ID} first_name=Ada "
        "full_name=Ada Lovelace\n")
    assert "request_id=py-cli-1" in ok.stdout
    assert "token" not in ok.stdout
    missing = _cli(f"--target={stack.target}",
                   f"--enterprise_id={ADA_ENTERPRISE_ID}",
                   f"--user_id={UNKNOWN_USER_ID}", "--first_name=Ada")
    assert missing.returncode == 1, missing.stderr
    assert "ERROR code=5 (NOT_FOUND)" in missing.stdout
    assert "reason=UPSTREAM_NOT_FOUND domain=usergateway.v1" in missing.stdout
    usage = _cli("--target=x")
    assert usage.returncode == 2
