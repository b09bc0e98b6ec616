#!/usr/bin/env python3
"""Renders nginx.conf.in for the benchmark's upstream and writes its body.

The body is the emulator fixture's first user, serialised compactly in the
fixture's key order: exactly what the emulator answers to a PUT that sets
the user's first_name to the value it already has.

Writes, into --dir:
  nginx.conf    the rendered configuration
  body.json     the bytes nginx must answer with (checked by the caller)
  request.json  the gRPC request (enterprise_id, user_id, first_name) whose
                upstream PUT nginx answers with that body

Usage:
  render_nginx_conf.py --dir DIR --users users.json --http_port P
      --tls_port P2 --tls_http1_port P3 --nofile N --connections N --hold_seconds S
      --echo_module /usr/lib/nginx/modules/ngx_http_echo_module.so
"""

import argparse
import json
import os
import sys


def nginx_single_quoted(text):
    """Returns `text` escaped for nginx's '...' string.

    nginx's parser unescapes \\\\ and \\' inside quotes, and the value of
    `return`/`echo` is a complex value where `$name` is a variable, so a
    literal `$` becomes ${dollar} (defined by a geo block in the template).
    """
    return (text.replace("\\", "\\\\").replace("'", "\\'")
            .replace("$", "${dollar}"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--users", required=True)
    parser.add_argument("--template",
                        default=os.path.join(os.path.dirname(__file__),
                                             "nginx.conf.in"))
    parser.add_argument("--http_port", type=int, required=True)
    parser.add_argument("--tls_port", type=int, required=True)
    parser.add_argument("--tls_http1_port", type=int, required=True)
    parser.add_argument("--nofile", type=int, required=True)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--hold_seconds", type=float, default=2.0)
    parser.add_argument("--echo_module", required=True)
    args = parser.parse_args()

    with open(args.users, encoding="utf-8") as f:
        users = json.load(f)
    user = users[0]
    body = json.dumps(user, separators=(",", ":"), ensure_ascii=False)
    if "\n" in body or "\r" in body:
        sys.exit("render_nginx_conf: the body has a raw line break")
    request = {
        "enterprise_id": user["profile"]["enterprise"],
        "user_id": user["profile"]["authn_user_id"],
        "first_name": user["first_name"],
    }

    with open(args.template, encoding="utf-8") as f:
        conf = f.read()
    values = {
        "DIR": args.dir,
        "ECHO_MODULE": args.echo_module,
        "HTTP_PORT": str(args.http_port),
        "TLS_PORT": str(args.tls_port),
        "TLS_HTTP1_PORT": str(args.tls_http1_port),
        "NOFILE": str(args.nofile),
        "CONNECTIONS": str(args.connections),
        "HOLD_SECONDS": "%g" % args.hold_seconds,
        "BODY": nginx_single_quoted(body),
    }
    for name, value in values.items():
        conf = conf.replace("@@%s@@" % name, value)
    if "@@" in conf:
        sys.exit("render_nginx_conf: unfilled placeholder in the template")

    with open(os.path.join(args.dir, "nginx.conf"), "w",
              encoding="utf-8") as f:
        f.write(conf)
    with open(os.path.join(args.dir, "body.json"), "wb") as f:
        f.write(body.encode("utf-8"))
    with open(os.path.join(args.dir, "request.json"), "w",
              encoding="utf-8") as f:
        json.dump(request, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
