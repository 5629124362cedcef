"""sourcediff: source-to-source automatic differentiation for Python and NumPy.

``sourcediff.grad(f)`` reads the source of ``f`` and writes a new Python
function that computes its gradient; ``.source`` shows that code.
"""
from sourcediff import rules as _rules  # noqa: F401  (registers every rule)

from .api import (Derivative, grad, hessian, jacfwd, jacobian, jacrev, jvp, linearize, stages, value_and_grad,
                  vjp)
from .checks import check_grads
from .custom import custom_jvp, custom_vjp
from .rules.sourcediff_module import stop_gradient
from .errors import (
    ArgnumsError,
    MissingRuleError,
    NonDifferentiableArgumentError,
    NonScalarOutputError,
    SourceNotFoundError,
    SourcediffError,
    UnsupportedSyntaxError,
)

__all__ = [
    "grad", "value_and_grad", "vjp", "jvp", "linearize", "jacfwd", "jacrev", "jacobian", "hessian",
    "custom_vjp", "custom_jvp", "stop_gradient", "check_grads", "stages", "Derivative",
    "SourcediffError", "SourceNotFoundError", "UnsupportedSyntaxError", "MissingRuleError",
    "NonScalarOutputError", "ArgnumsError", "NonDifferentiableArgumentError",
]
__version__ = "0.1.0"
