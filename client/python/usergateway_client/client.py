"""A small client for callers of the gateway, the Python twin of
client/user_profile_client.h: one call with a deadline, and the gateway's
error details decoded so that callers branch on the reason and honour the
retry delay without parsing text.

Example:

    with UserProfileClient("usergateway:50051") as client:
        result = client.update_first_name("ent-1", "3f1c...", "Ada", timeout=2.0)
        if result.ok:
            print(result.user.first_name, result.request_id)
        elif result.error.reason == "UPSTREAM_RATE_LIMITED":
            ...  # retry after result.error.retry_delay seconds
        else:
            log(result.error.code, result.error.message, result.request_id)

The stubs are generated from proto/ by client/python/generate.sh; their
directory must be on sys.path (PYTHONPATH) with this package's.
"""

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import grpc
from google.rpc import error_details_pb2
from google.rpc import status_pb2

try:
    from usergateway.v1 import user_profile_pb2
    from usergateway.v1 import user_profile_pb2_grpc
except ImportError as e:  # pragma: no cover - a setup error, said plainly
    raise ImportError(
        "usergateway_client needs the generated stubs: run "
        "client/python/generate.sh and put its output directory on "
        "PYTHONPATH") from e

User = user_profile_pb2.User

# The metadata key of the request id, in both directions: sent to choose
# one, returned (response header) on every call.
REQUEST_ID_KEY = "x-request-id"
# gRPC's key for the serialized google.rpc.Status of an error.
_STATUS_DETAILS_KEY = "grpc-status-details-bin"
DEFAULT_TIMEOUT_S = 5.0


@dataclasses.dataclass(frozen=True)
class GatewayError:
    """A failed call: the status as received and its details decoded."""

    code: grpc.StatusCode
    message: str
    reason: str = ""  # ErrorInfo.reason, "" when the status had none
    domain: str = ""  # ErrorInfo.domain
    metadata: Dict[str, str] = dataclasses.field(default_factory=dict)
    # BadRequest field violations as (field, description).
    field_violations: List[Tuple[str, str]] = dataclasses.field(
        default_factory=list)
    retry_delay: Optional[float] = None  # RetryInfo, in seconds


@dataclasses.dataclass(frozen=True)
class UpdateResult:
    """The user, or the error; and the call's request id.

    request_id is the gateway's x-request-id response header, sent on
    every call it answers (errors also carry it as
    error.metadata["request_id"]): quote it when reporting a problem. It is
    "" when no answer came from the gateway (e.g. the deadline passed
    first, or the connection failed).
    """

    user: Optional[User] = None
    error: Optional[GatewayError] = None
    request_id: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def decode_status_details(code: grpc.StatusCode, message: str,
                          trailing_metadata: Sequence[Tuple[str, object]]
                          ) -> GatewayError:
    """Decodes the google.rpc.Status the gateway puts in the trailers.

    Unknown detail types are ignored; a status without details (e.g. one made
    by the client library itself, such as a local deadline) gives a
    GatewayError with only the code and message.
    """
    reason, domain, metadata, violations, retry_delay = "", "", {}, [], None
    raw = next((v for k, v in trailing_metadata or ()
                if k == _STATUS_DETAILS_KEY), None)
    if raw:
        status = status_pb2.Status.FromString(raw)
        for any_detail in status.details:
            info = error_details_pb2.ErrorInfo()
            bad_request = error_details_pb2.BadRequest()
            retry = error_details_pb2.RetryInfo()
            if any_detail.Unpack(info):
                reason, domain = info.reason, info.domain
                metadata.update(info.metadata)
            elif any_detail.Unpack(bad_request):
                violations.extend((v.field, v.description)
                                  for v in bad_request.field_violations)
            elif any_detail.Unpack(retry):
                retry_delay = (retry.retry_delay.seconds +
                               retry.retry_delay.nanos / 1e9)
    return GatewayError(code=code, message=message, reason=reason,
                        domain=domain, metadata=metadata,
                        field_violations=violations, retry_delay=retry_delay)


def _header(metadata, key: str) -> str:
    return next((v for k, v in metadata or () if k == key), "")


class UserProfileClient:
    """One channel to the gateway; thread-safe, share one per target.

    target is gRPC target syntax, e.g. "dns:///usergateway.ns.svc:50051" for
    client-side round robin over the headless Service's addresses.
    credentials: grpc.ssl_channel_credentials(...) for TLS or mTLS; plain
    text when None.
    """

    def __init__(self, target: str,
                 credentials: Optional[grpc.ChannelCredentials] = None):
        options = [("grpc.lb_policy_name", "round_robin")]
        if credentials is None:
            self._channel = grpc.insecure_channel(target, options=options)
        else:
            self._channel = grpc.secure_channel(target, credentials,
                                                options=options)
        self._stub = user_profile_pb2_grpc.UserProfileGatewayStub(
            self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "UserProfileClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update_first_name(self, enterprise_id: str, user_id: str,
                          first_name: str,
                          timeout: float = DEFAULT_TIMEOUT_S,
                          request_id: str = "",
                          metadata: Sequence[Tuple[str, str]] = ()
                          ) -> UpdateResult:
        """One blocking UpdateUserProfile with `timeout` seconds as deadline.

        request_id, when given, is sent as x-request-id (the gateway uses it
        when it is 1 to 128 visible ASCII characters). metadata: extra
        (key, value) pairs, e.g. keys the gateway's --forward_metadata sends
        upstream. Never raises for a gRPC status: a failure is
        UpdateResult.error.
        """
        request = user_profile_pb2.UpdateUserProfileRequest(
            enterprise_id=enterprise_id, user_id=user_id,
            first_name=first_name)
        metadata = list(metadata)
        if request_id:
            metadata.append((REQUEST_ID_KEY, request_id))
        try:
            response, call = self._stub.UpdateUserProfile.with_call(
                request, timeout=timeout, metadata=metadata or None)
        except grpc.RpcError as rpc_error:
            error = decode_status_details(rpc_error.code(),
                                          rpc_error.details() or "",
                                          rpc_error.trailing_metadata())
            # An error may come as trailers only; the header is then there.
            return UpdateResult(
                error=error,
                request_id=(
                    _header(rpc_error.initial_metadata(), REQUEST_ID_KEY) or
                    _header(rpc_error.trailing_metadata(), REQUEST_ID_KEY)))
        return UpdateResult(
            user=response.user,
            request_id=_header(call.initial_metadata(), REQUEST_ID_KEY))
