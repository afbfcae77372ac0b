"""What s2sgrad does today with corpus entries it does not differentiate correctly, and
which entries autograd (the optional second oracle) cannot run.

REFUSED: an honest refusal, a located TransformError; the value is a fragment its message
must contain (a refusal that turns into a number, or a different error, fails the test).
DEFECTS: a wrong number or an internal exception, run as strict xfails; the category
starts with "wrong" (a silently wrong gradient) or "crash" (an exception that is not an
S2SGradError). Remove an entry here when the defect is fixed: the test then passes.
NO_AUTOGRAD: autograd itself cannot run the entry, or its answer disagrees with finite
differences (the reason says which).
"""

REFUSED = {
    "shadowing.calls_decorated_helper": "cannot know the decorator's effect",
    "shadowing.decorated_entry_point": "cannot know the decorator's effect",
    "views_keywords.view_slice_inplace": r"`v \*= \.\.\.` changes `v` in place",
    "views_keywords.alias_second_name_inplace": r"`w \+= \.\.\.` changes `w` in place",
    "views_keywords.loop_rows_inplace": r"`row \*= \.\.\.` changes `row` in place",
    "flat_params.append_insert": "no adjoint for `numpy.append`",
    "control_flow.recursion_power": "calls itself",
    "shadowing.loop_closures_default_binding": "call through the local variable",
    "everyday.partial_helper": "nested function used other than by calling it",
    "everyday.try_except_inside": "`try` blocks",
    "shadowing.global_statement": "`global` statements",
    "views_keywords.max_initial": "keyword `initial=`",
    "views_keywords.sum_where": "keyword `where=`",
    "views_keywords.mean_where": "keyword `where=`",
}

_SCOPE_CRASH = ("crash (closure scoping): NameError in generated code, a helper's free "
                "name from the enclosing factory is looked up in the module globals")

DEFECTS = {
    # ---- silently wrong gradients
    # ---- internal exceptions
}

_DOT = "autograd's ArrayBox has no .dot method"
_MATH = "math.* does not accept autograd's boxes"
_FLOAT = "float() of an autograd box"
_SETITEM = "autograd cannot assign into arrays"

NO_AUTOGRAD = {
    "flat_params.mlp_flat_offsets": _DOT,
    "flat_params.slice_assign_copy": _SETITEM,
    "flat_params.zeros_like_fill": _SETITEM,
    "flat_params.pad_params": "autograd's pad_vjp needs mode=",
    "linalg_losses.least_squares_norm": _DOT,
    "linalg_losses.least_squares_norm_unsquared": _DOT,
    "linalg_losses.cholesky_logdet":
        "autograd's cholesky gradient assumes a symmetric perturbation; finite differences "
        "of np.linalg.cholesky (lower triangle read) and s2sgrad agree",
    "linalg_losses.cholesky_solve_twice":
        "autograd's cholesky gradient assumes a symmetric perturbation; finite differences "
        "of np.linalg.cholesky (lower triangle read) and s2sgrad agree",
    "linalg_losses.norm_ord1": "autograd: gradient of norm not implemented for ord=1",
    "linalg_losses.norm_inf": "autograd's ord=inf norm gradient is NaN (0/0)",
    "linalg_losses.norm_axis_keepdims":
        "autograd's norm gradient with keepdims=True disagrees with finite differences",
    "linalg_losses.einsum_trace": "autograd: einsum 'ii' unsupported",
    "linalg_losses.einsum_ellipsis": "autograd: einsum '...ii->...i' unsupported",
    "linalg_losses.matrix_power": "autograd: no VJP for matrix_power",
    "linalg_losses.dot_methods": _DOT,
    "linalg_losses.diag_extraction": "autograd: tril/triu with an offset unsupported",
    "linalg_losses.vdot_kron": "autograd: no VJP for vdot",
    "control_flow.rnn_loop_over_rows": _DOT,
    "containers.asarray_list": "autograd: np.asarray of a list holding boxes",
    "scalar_math.float_conversion": _FLOAT,
    "scalar_math.clip_scalar_inside": _FLOAT,
    "scalar_math.numpy_special_scalars": "autograd: no VJP for cbrt",
    "numpy_idioms.softmax_classifier": _DOT,
    "numpy_idioms.take_along": "autograd: no VJP for take_along_axis",
    "numpy_idioms.method_calls": _DOT,
    "numpy_idioms.method_prod_cumsum": "autograd: no VJP for cumprod",
    "numpy_idioms.swapaxes_moveaxis": "autograd: transpose(*axes) form unsupported",
    "numpy_idioms.flip_roll": "autograd: no VJP for flip",
    "numpy_idioms.mean_weighted_average": "autograd: no VJP for average",
    "numpy_idioms.x_negative_and_pos": "autograd: no VJP for positive",
    "numpy_idioms.augmented_assign_array": "autograd's ArrayBox has no .copy method",
    "numpy_idioms.array_setitem_scale": _SETITEM,
    "dtypes.f32_methods": _DOT,
    "dtypes.returns_numpy_scalar": "autograd: np.float64() of a box",
    "dtypes.returns_python_float": _FLOAT,
    "dtypes.returns_item": "autograd's ArrayBox has no .item method",
    "dtypes.asarray_dtype_float": "autograd: no VJP for asarray with a dtype",
    "everyday.loss_with_isinstance":
        "isinstance(box, np.ndarray) is False under autograd: it takes the other branch",
    "everyday.helper_from_other_module":
        "the helper imported from another corpus module is plain NumPy in the autograd twin",
    "everyday.helper_from_other_module_active":
        "the helper imported from another corpus module is plain NumPy in the autograd twin",
    "everyday.array_methods_many": "autograd: trace/diagonal of a box (make_diagonal)",
    "everyday.qr_r_diag": "autograd: no VJP for qr",
    "everyday.matrix_2_norm": "autograd: matrix norm gradient not implemented for ord=2",
    "views_keywords.view_slice_inplace": "autograd's in-place operators rebind, views are lost",
    "views_keywords.alias_second_name_inplace":
        "autograd's in-place operators rebind, aliases are lost",
    "views_keywords.loop_rows_inplace": "autograd's in-place operators rebind, views are lost",
    "views_keywords.reversed_slice_assign": _SETITEM,
    "views_keywords.setitem_duplicates_loop": _SETITEM,
    "views_keywords.transpose_methods": "autograd: transpose(*axes) form unsupported",
    "views_keywords.diagonal_offset": "autograd: diagonal with an offset unsupported",
    "views_keywords.roll_tuple_shift": "autograd: roll with a tuple shift unsupported",
    "views_keywords.flip_no_axis": "autograd: no VJP for flip",
    "views_keywords.take_axis": "autograd: no VJP for take",
    "views_keywords.concatenate_axis_none": "autograd: concatenate(axis=None) unsupported",
    "views_keywords.repeat_array_counts": "autograd: repeat with a list of counts unsupported",
    "views_keywords.trace_axes": "autograd: trace(axis1=, axis2=) unsupported",
    "views_keywords.sort_axis0": "autograd: sort gradient only for 1-D arrays",
    "views_keywords.copy_function": "autograd: no VJP for np.copy",
    "import_styles.setitem_on_argument": _SETITEM,
    "import_styles.imul_slice_of_argument": _SETITEM,
    "import_styles.inplace_row_of_argument": _SETITEM,
}
for _name in ("math_sin_cos", "math_log_sqrt", "math_tanh_pow", "math_inverse_trig",
              "math_atan2_hypot", "math_log_bases", "math_hyperbolic", "math_erf", "stirling",
              "sigmoid_scalar", "softplus_stable", "logaddexp_by_hand", "gamma_like",
              "gaussian_logpdf", "beta_logpdf_like", "complex_free_polar",
              "math_fabs_copysign"):
    NO_AUTOGRAD["scalar_math." + _name] = _MATH
