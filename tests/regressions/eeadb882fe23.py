# Found by tests/test_fuzz.py (S2SGRAD_FUZZ_EXAMPLES long mode).
# Checked by tests/test_regressions.py: gradient of main at ARGS vs finite
# differences.  Failure when found:
# s2sgrad raised:
# Traceback (most recent call last):
#   File "/work/main/s2sgrad/api.py", line 198, in cached_compile
#     compiled = compile_gradient(func, wrt, is_tuple, optimize, kinds)
#                ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#   File "/work/main/s2sgrad/api.py", line 145, in compile_gradient
#     made, full, filename, bindings = load_definitions(
#                                      ^^^^^^^^^^^^^^^^^
#   File "/work/main/s2sgrad/api.py", line 168, in load_definitions
#     made, full, filename = load_mod.load(text, names, parsed.namespace, bindings, label)
#                            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#   File "/work/main/s2sgrad/load.py", line 36, in load
#     code = compile(text, filename, "exec")
#            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#   File "<s2sgrad fuzzprog_690_eeadb882fe23.py:5 main 30b7f28c30>", line 24
#     else:
#     ^^^^
# IndentationError: expected an indented block after 'if' statement on line 21
import math
import numpy as np


def main(x, y):
    x = 0.1
    if x > 0.3:
        v0 = x
        x = x
    else:
        v1 = x
        x = x
    v2 = x
    return np.sum(v2)


ARGS = (0.0, 0.0, )
