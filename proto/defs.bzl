"""Compiles .proto files with Debian's protoc and grpc_cpp_plugin (no network, no rules_proto)."""

def baton_proto_library(name, srcs, deps = [], grpc = False, proto_deps_srcs = [], visibility = None):
    """cc_library `name` with the generated C++ (and gRPC when `grpc`) code of `srcs`.

    Args:
      name: the cc_library's name.
      srcs: .proto files of this package, imported by repo-relative path.
      deps: cc deps (other baton_proto_library targets this one imports).
      grpc: also generate gRPC service stubs.
      proto_deps_srcs: the .proto files of `deps`, so protoc can read the imports.
      visibility: visibility of the cc_library.
    """
    bases = [s[:-len(".proto")] for s in srcs]
    outs = [b + ".pb.h" for b in bases] + [b + ".pb.cc" for b in bases]
    if grpc:
        outs += [b + ".grpc.pb.h" for b in bases] + [b + ".grpc.pb.cc" for b in bases]
    grpc_flags = "--grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin" if grpc else ""
    pkg = native.package_name()
    native.genrule(
        name = name + "_gen",
        srcs = srcs + proto_deps_srcs,
        outs = outs,
        cmd = "/usr/bin/protoc -I. --cpp_out=$(GENDIR) %s %s" % (
            grpc_flags,
            " ".join([pkg + "/" + s for s in srcs]),
        ),
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        deps = deps + ["@system//:protobuf"] + (["@system//:grpc"] if grpc else []),
        copts = ["-Wno-unused-parameter"],
        visibility = visibility,
    )
