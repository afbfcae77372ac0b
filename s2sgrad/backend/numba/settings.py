"""What the Numba back end's modules share (no Numba import here)."""
import os

#: The runtime helpers with a Numba version (`helpers.py`); generated code calling any
#: other helper runs as NumPy code.
COMPILED = ("grad_like", "unbroadcast", "zero_grad", "match_shape", "div_or_zero",
            "is_zero", "stop_gradient", "check_scalar", "unreduce", "count_reduced",
            "matmul_left", "matmul_right", "log_or_zero", "pow_base_deriv", "add_at",
            "add_grads", "ShapeOf", "extremum_grad", "transpose_grad", "roll_grad",
            "dot_left", "dot_right", "diag_grad", "solve_grad_a", "solve_grad_b",
            "cholesky_grad", "solve_grads", "solve_triangle", "axis_sum",
            "sum_product", "stored_cast_grad", "check_in_place_cast")
COMPILED = COMPILED + ("unreshape", "choose_grad", "swapaxes_grad", "take_grad", "repeat_grad", "trace_grad", "prod_grad", "norm_grad", "det_grad")  # noqa: E501  (helpers_more.py)

#: Helpers of `helpers.py` that only the rewriting for Numba (`rewrite.py`) writes.
INTRODUCED = ("shape_kept", "zero_like", "reduce_sum", "reduce_max", "reduce_min",
              "reduce_mean", "fits", "same_shape", "float_like", "added_into",
              "subtracted_into", "tanh_number", "exp_number", "reads_broadcast",
              "ufunc_of", "ufunc_in_place", "broadcast_shape")

MARKER = "# ---- Numba versions of the runtime helpers"


def cache_dir():
    """Where generated modules and Numba's compiled code are kept: $S2SGRAD_CACHE_DIR,
    else the user's cache directory."""
    env = os.environ.get("S2SGRAD_CACHE_DIR")
    if env:
        return env
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                 ".cache")
    return os.path.join(base, "s2sgrad", "numba")
