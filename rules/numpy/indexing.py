"""Indexing rules.

Reading ``x[i]`` (integers, slices, steps, negative indices, tuples, boolean
masks and integer arrays, repeated indices included) is handled by the
transformer through ``operator.getitem``, whose adjoint scatters ``g`` with
``sd.index_adjoint`` (``np.add.at``, so repeated indices accumulate). No
NumPy function needs a rule here yet; ``tests/rules/numpy/test_indexing.py``
checks those reads.
"""
