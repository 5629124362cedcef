"""The rule library, grouped by the module that owns the primal and by topic.

Importing this package registers every rule in :mod:`sourcediff.rules.registry`.
"""
from . import registry  # noqa: F401
from . import python, math_module, sourcediff_module  # noqa: F401
from .numpy import elementwise, reductions, shape, indexing, linalg, statistics, fft, complex  # noqa: F401
from . import runtime  # noqa: F401  (rules for the sd.* runtime: generated code can be differentiated again)
