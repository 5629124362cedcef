"""The runtime contract: every ``sd.<name>`` that generated code may call.

Each backend's runtime implements all of it (``tests/backends/test_runtime_contract.py``
checks the NumPy runtime), and generated code sees exactly these names: the pipeline
binds ``sd`` to a namespace that holds them and nothing else.
"""

# Helpers that rule templates call (reverse and forward): the math of a derivative, one per primitive or family.
RULE_HELPERS = (
    "accumulate_at_adjoint", "arange_adjoint", "array_adjoint", "array_tangent", "builtin_extremum_adjoint",
    "builtin_extremum_tangent", "builtin_sum_adjoint", "concatenate_adjoint", "det_adjoint", "diag_adjoint",
    "dot_adjoint_a", "dot_adjoint_b", "einsum_adjoint", "einsum_tangent", "extremum_adjoint", "field_adjoint",
    "field_tangent", "hstack_adjoint", "index_adjoint", "index_concatenate_adjoint",
    "inner_adjoint_a", "inner_adjoint_b", "inv_adjoint", "linspace_adjoint", "matmul_adjoint_a", "matmul_adjoint_b",
    "mean_adjoint", "norm_adjoint", "norm_slope", "outer_adjoint_a",
    "outer_adjoint_b", "power_rule", "prod_adjoint", "sequence_adjoint", "solve_adjoint_a", "solve_adjoint_b",
    "sort_adjoint", "sort_tangent", "stack_adjoint", "std_adjoint", "sum_adjoint", "trace_adjoint", "transpose_adjoint",
    "unbroadcast", "var_adjoint", "view_again_adjoint", "view_again_tangent", "vstack_adjoint", "xlogy",
    # cumulative, repeating and rearranging
    "cumsum_adjoint", "cumprod_adjoint", "cumprod_tangent", "diff_adjoint", "repeat_adjoint", "tile_adjoint",
    "kron_adjoint", "diagonal_adjoint",
    # np.linalg
    "cholesky_adjoint", "cholesky_tangent", "eigh_adjoint", "eigh_tangent", "eigvalsh_adjoint",
    "eigvalsh_tangent", "svd_adjoint", "svd_tangent", "qr_adjoint", "qr_tangent", "slogdet_adjoint",
    "slogdet_tangent", "pinv_adjoint", "pinv_tangent", "lstsq_adjoint_a", "lstsq_adjoint_b", "lstsq_tangent_a",
    "lstsq_tangent_b", "matrix_power_adjoint", "matrix_power_tangent", "multi_dot_adjoint", "multi_dot_tangent",
    "tensorsolve_adjoint_a", "tensorsolve_adjoint_b", "tensorsolve_tangent_a", "tensorsolve_tangent_b",
    # statistics
    "sinc_slope", "digamma", "nan_sum_adjoint", "nan_mean_adjoint", "nan_extremum_adjoint", "ptp_adjoint",
    "average_adjoint_a", "average_adjoint_weights", "average_tangent_weights", "quantile_adjoint",
    "quantile_tangent", "cov_adjoint", "cov_tangent", "corrcoef_adjoint", "corrcoef_tangent",
    "sequence_prod_adjoint", "sequence_prod_tangent", "dist_adjoint", "dist_tangent",
    # shape, part 2
    "roll_adjoint", "pad_adjoint", "pad_tangent", "split_adjoint", "cross_adjoint", "tensordot_adjoint",
    "take_adjoint", "take_along_axis_adjoint", "choose_adjoint", "choose_tangent", "compress_adjoint",
    "meshgrid_adjoint", "meshgrid_tangent", "polyval_adjoint", "polyval_slope", "interp_adjoint",
    "interp_tangent", "interp_slope", "convolve_adjoint", "correlate_adjoint",
    # scipy.special
    "polygamma", "bessel_iv", "bessel_ive", "bessel_jv", "bessel_yv", "bessel_kv", "hurwitz_zeta", "zeta_slope",
    "xdivy", "logsumexp_adjoint", "logsumexp_tangent",
    # complex values and np.fft
    "eigvals_adjoint", "eigvals_tangent", "complex_abs_adjoint", "complex_abs_tangent", "angle_adjoint",
    "angle_tangent", "imag_adjoint", "fft_adjoint", "rfft_adjoint", "irfft_adjoint", "hfft_adjoint", "ihfft_adjoint",
    "fftn_adjoint", "rfftn_adjoint", "irfftn_adjoint",
    # Python's dict methods
    "dict_get_adjoint", "dict_get_default_adjoint", "dict_get_tangent", "dict_get_default_tangent",
    "dict_values_adjoint", "dict_values_tangent", "dict_items_adjoint", "dict_items_tangent", "copy_adjoint",
    # scipy.linalg
    "solve_triangular_adjoint_a", "solve_triangular_adjoint_b", "solve_triangular_tangent_a",
    "solve_triangular_tangent_b", "cho_factor_adjoint", "cho_factor_tangent", "cho_solve_adjoint_c",
    "cho_solve_adjoint_b", "cho_solve_tangent_c", "cho_solve_tangent_b", "lu_factor_adjoint", "lu_factor_tangent",
    "lu_solve_adjoint_lu", "lu_solve_adjoint_b", "lu_solve_tangent_lu", "lu_solve_tangent_b", "expm_adjoint",
    "expm_tangent", "sqrtm_adjoint", "sqrtm_tangent", "block_diag_adjoint", "block_diag_tangent",
    "scipy_solve_adjoint_a", "scipy_solve_adjoint_b", "scipy_solve_tangent_a", "scipy_solve_tangent_b",
    "scipy_inv_adjoint", "scipy_inv_tangent", "scipy_det_adjoint", "scipy_det_tangent", "scipy_cholesky_adjoint",
    "scipy_cholesky_tangent", "scipy_eigh_adjoint", "scipy_eigh_tangent", "scipy_svd_adjoint",
    "scipy_svd_tangent", "scipy_qr_adjoint", "scipy_qr_tangent", "scipy_pinv_adjoint", "scipy_pinv_tangent",
    "scipy_lstsq_adjoint_a", "scipy_lstsq_adjoint_b", "scipy_lstsq_tangent_a", "scipy_lstsq_tangent_b",
    # scipy.stats
    "distribution_logpdf", "density_ratio", "t_score_df", "gamma_score", "beta_score", "poisson_score",
    "poisson_floor_logpmf", "mvn_logpdf_adjoint", "mvn_logpdf_tangent", "dirichlet_logpdf_adjoint",
    "dirichlet_logpdf_tangent",
    # scipy.signal
    "signal_convolve", "signal_correlate", "signal_fftconvolve", "signal_oaconvolve", "signal_convolve2d",
    "signal_convolve_adjoint", "signal_convolve2d_adjoint", "signal_correlate_adjoint",
    # scipy.special, part 2
    "bessel_kve", "expit", "betainc_slope", "gammainc_slope", "multigammaln_slope", "rgamma_slope",
    "boxcox_lmbda_slope", "spence_slope",
    # numpy breadth
    "rollaxis_adjoint", "column_stack_adjoint", "dstack_adjoint", "block_adjoint", "broadcast_arrays_adjoint",
    "broadcast_arrays_tangent", "delete_adjoint", "insert_adjoint", "diagflat_adjoint", "ediff1d_adjoint",
    "resize_adjoint", "unstack_adjoint", "cumulative_sum_adjoint", "cumulative_prod_adjoint",
    "cumulative_prod_tangent", "extract_adjoint", "trim_zeros_adjoint", "trim_zeros_tangent", "bincount_adjoint",
    "gradient_adjoint", "gradient_tangent", "trapezoid_adjoint", "trapezoid_tangent", "vander_slope",
    "polyadd_adjoint", "polymul_adjoint", "polymul_tangent", "polyder_adjoint", "polyint_adjoint", "polyfit_adjoint",
    "polyfit_tangent", "logspace_adjoint", "logspace_tangent", "geomspace_adjoint", "geomspace_tangent",
    "partition_adjoint", "partition_tangent", "select_adjoint", "select_tangent", "bessel_i1", "modf_adjoint",
    "modf_tangent", "divmod_adjoint", "divmod_tangent", "nan_var_adjoint", "nan_std_adjoint", "nan_prod_adjoint",
    "nan_quantile_adjoint", "nan_quantile_tangent", "nan_cumsum_adjoint", "nan_cumprod_adjoint",
    "nan_cumprod_tangent", "vecdot_adjoint", "matvec_adjoint", "vecmat_adjoint", "vector_norm_adjoint",
    "cond_adjoint", "cond_tangent", "tensorinv_adjoint", "tensorinv_tangent",
    # transposes of the runtime's own helpers (rules/runtime.py)
    "written_part_adjoint", "added_at_adjoint",
    # tuple and list adjoints, built by helpers whose source is differentiated again
    "as_tuple_adjoint", "as_list_adjoint",
    # a record's field read out of its adjoint: the transpose of attribute_adjoint
    "attribute_of_adjoint",
)

# What the transformer emits around the rules.
STRUCTURAL = (
    # adjoints: seeds, zeros, sums and scatters
    "scalar_seed", "zeros_like", "add", "add_at", "own", "sum_product", "unbroadcast_to", "attribute_adjoint",
    "list_adjoint",
    # writes into arrays and containers, and their adjoints
    "assign_into", "accumulate_at", "increment_adjoint", "store_adjoint", "store_adjoint_to", "clear_at",
    # what the forward pass keeps, and how the backward pass puts it back
    "snapshot", "snapshot_item", "snapshot_contents", "restore", "restore_item", "keep_value",
    "unpop", "unextend", "uninsert",
    # lowered forms of the user's code
    "iterable", "concatenate_rows", "concatenate_columns", "view_again", "dict_values", "dict_items",
    # checks made when the derivative runs: refusals the transformer could not decide ahead of time
    "not_a_view", "immutable_value", "check_index", "check_array_attribute", "refuse_shared_arguments",
    # forward mode: tangents of constants, tangents fitted to the primal's shape, private tangents
    "zero_tangent", "fit_tangent", "own_tangent", "tangent_stored_in", "field_of_tangent",
    # the in-place adjoint helpers spelled out as a pure call and a visible write, when generated code is
    # differentiated again (``sourcediff.parse.spell_out_writes``)
    "written_part", "increment_part", "cleared", "added_at", "unpop_position", "uninsert_position", "as_mutable",
    "restored_value",
)

# Calls of functions passed in as values: they build derivatives when they run, so they belong to the
# compiler (``sourcediff.calls``), and the pipeline binds them into ``sd``; a runtime does not implement them.
BOUND_BY_PIPELINE = ("call_forward", "call_backward", "call_jvp")

RUNTIME = RULE_HELPERS + STRUCTURAL + BOUND_BY_PIPELINE
