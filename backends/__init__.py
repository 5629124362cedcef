"""Runtimes the generated code calls into: one module per array backend, described by a ``Backend``."""
import math

import numpy

from . import numpy_backend
from .base import Backend

NUMPY = Backend("numpy", np=numpy, math=math, runtime=numpy_backend)
