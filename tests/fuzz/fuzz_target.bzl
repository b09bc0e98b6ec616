"""One libFuzzer target and its corpus test.

fuzz_target(name = "retry_after", srcs = [...], deps = [...]) makes:
  retry_after_fuzzer       the fuzzer: with --config=fuzz (clang-14, ASan,
                           UBSan, libFuzzer; see scripts/fuzz.sh) linked with
                           -fsanitize=fuzzer; in any other build linked with
                           replay_main, a reproducer that runs the files it
                           is given.
  retry_after_corpus_test  the corpus as a regression test of the normal
                           suite: replays every file under corpus/retry_after/
                           (seeds and past crashers) with the properties
                           checked.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")

def fuzz_target(name, srcs, deps):
    """Declares <name>_fuzzer and <name>_corpus_test.

    Args:
      name: the target's name; its corpus is corpus/<name>/.
      srcs: the file defining LLVMFuzzerTestOneInput.
      deps: what it checks.
    """
    cc_library(
        name = name + "_target",
        testonly = True,
        srcs = srcs,
        deps = deps + [":fuzz_check"],
        alwayslink = True,
    )

    cc_binary(
        name = name + "_fuzzer",
        testonly = True,
        deps = [":" + name + "_target"] + select({
            ":fuzzing": [],
            "//conditions:default": [":replay_main"],
        }),
        linkopts = select({
            ":fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
    )

    cc_test(
        name = name + "_corpus_test",
        size = "small",
        deps = [
            ":" + name + "_target",
            ":replay_main",
        ],
        data = native.glob(["corpus/" + name + "/**"]),
        args = ["tests/fuzz/corpus/" + name],
    )
