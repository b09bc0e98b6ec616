#!/usr/bin/env python3
"""Waits until nginx answers a PUT with exactly the expected body.

Polls URL (every 50 ms, up to --timeout seconds) with the same PUT the
gateway makes, then checks the status is 200, the Content-Type is
application/json and the body equals BODY_FILE byte for byte. Exits 0 when
it does; otherwise prints what differed and exits 1.

Usage: check_upstream.py URL BODY_FILE [--cacert PEM] [--timeout S]
"""

import argparse
import ssl
import sys
import time
import urllib.error
import urllib.request


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("body_file")
    parser.add_argument("--cacert")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    with open(args.body_file, "rb") as f:
        want = f.read()
    context = None
    if args.cacert:
        context = ssl.create_default_context(cafile=args.cacert)
    deadline = time.monotonic() + args.timeout
    last_error = None
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            args.url, data=b'{"first_name":"Ada"}', method="PUT",
            headers={"Content-Type": "application/json",
                     "Accept": "application/json",
                     "Authorization": "Bearer benchmark-key"})
        try:
            with urllib.request.urlopen(request, timeout=2,
                                        context=context) as response:
                got = response.read()
                content_type = response.headers.get("Content-Type", "")
                if response.status != 200:
                    sys.exit("check_upstream: %s answered %d" %
                             (args.url, response.status))
                if content_type != "application/json":
                    sys.exit("check_upstream: Content-Type is %r" %
                             content_type)
                if got != want:
                    sys.exit("check_upstream: body differs from %s "
                             "(%d bytes, want %d)" %
                             (args.body_file, len(got), len(want)))
                return 0
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            last_error = e
            time.sleep(0.05)
    sys.exit("check_upstream: %s not answering: %s" % (args.url, last_error))


if __name__ == "__main__":
    sys.exit(main())
