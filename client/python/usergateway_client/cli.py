"""update_user_profile in Python: a command-line caller of the gateway.

    python -m usergateway_client.cli --target=127.0.0.1:50051 \\
        --enterprise_id=E --user_id=U --first_name=Ada \\
        [--timeout_ms=5000] [--request_id=R]

Prints the user's id, authn id, first and full name on success (exit 0);
else the gRPC code, message, reason, metadata, field violations and retry
delay (exit 1). Exit 2 for bad usage. The request id is printed either way.
Never prints token fields. The same output as the C++ tool, //client:
update_user_profile.
"""

import argparse
import sys

from usergateway_client.client import UserProfileClient


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="update_user_profile")
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--enterprise_id", required=True)
    parser.add_argument("--user_id", required=True)
    parser.add_argument("--first_name", required=True)
    parser.add_argument("--timeout_ms", type=_positive_int, default=5000)
    parser.add_argument("--request_id", default="")
    args = parser.parse_args(argv)  # exits 2 on bad usage

    with UserProfileClient(args.target) as client:
        result = client.update_first_name(
            args.enterprise_id, args.user_id, args.first_name,
            timeout=args.timeout_ms / 1000.0, request_id=args.request_id)
    if result.ok:
        user = result.user
        print(f"OK id={user.id} authn_user_id={user.profile.authn_user_id} "
              f"first_name={user.first_name} full_name={user.full_name}")
        print(f"  request_id={result.request_id}")
        return 0
    error = result.error
    print(f"ERROR code={error.code.value[0]} ({error.code.name}) "
          f"message={error.message}")
    if error.reason:
        print(f"  reason={error.reason} domain={error.domain}")
    for key in sorted(error.metadata):
        print(f"  {key}={error.metadata[key]}")
    for field, description in error.field_violations:
        print(f"  violation {field}: {description}")
    if error.retry_delay is not None:
        print(f"  retry_after_ms={round(error.retry_delay * 1000)}")
    if result.request_id and "request_id" not in error.metadata:
        print(f"  request_id={result.request_id}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
