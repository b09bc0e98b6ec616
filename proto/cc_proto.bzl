"""Generates C++ (and gRPC) code with Debian's protoc, offline.

Bazel 4.2.3's proto rules want @com_google_protobuf from the network, so
code generation is a genrule around the system protoc and grpc_cpp_plugin.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

def system_cc_proto_library(
        name,
        srcs,
        import_root,
        proto_dir = "",
        grpc = False,
        deps = [],
        visibility = None,
        testonly = False):
    """A cc_library generated from .proto files.

    Args:
      name: the cc_library name.
      srcs: .proto labels.
      import_root: the -I directory the .proto paths are relative to, as
        seen from the execution root (e.g. "proto" or "external/system/...").
      proto_dir: the directory, relative to import_root, holding the srcs;
        also where the generated files land, relative to this package.
      grpc: whether to run grpc_cpp_plugin too.
      deps: cc_library deps (other generated protos, gRPC).
      visibility: visibility of the cc_library.
      testonly: as for any rule.
    """
    outs = []
    for src in srcs:
        base = src.split("/")[-1].split(":")[-1][:-len(".proto")]
        stem = (proto_dir + "/" + base) if proto_dir else base
        outs += [stem + ".pb.h", stem + ".pb.cc"]
        if grpc:
            outs += [stem + ".grpc.pb.h", stem + ".grpc.pb.cc"]

    out_dir = "$(GENDIR)/" + native.package_name()
    cmd = "$(location @system//:protoc) -I" + import_root + " -I/usr/include"
    cmd += " --cpp_out=" + out_dir
    tools = ["@system//:protoc"]
    if grpc:
        cmd += " --plugin=protoc-gen-grpc=$(location @system//:grpc_cpp_plugin)"
        cmd += " --grpc_out=" + out_dir
        tools.append("@system//:grpc_cpp_plugin")
    cmd += " $(SRCS)"

    native.genrule(
        name = name + "_gen",
        srcs = srcs,
        outs = outs,
        cmd = cmd,
        tools = tools,
        testonly = testonly,
    )

    cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        includes = ["."],
        deps = deps + ["@system//:protobuf"] + (["@system//:grpc++"] if grpc else []),
        visibility = visibility,
        testonly = testonly,
    )
