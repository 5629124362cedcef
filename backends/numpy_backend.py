"""NumPy runtime for generated derivatives: zeros, accumulation, unbroadcast.

Generated code refers to this module as ``sd``. Everything here is small and
called from inlined rule templates; keep each function cheap on Python floats.
"""
from __future__ import annotations

import numpy as np

from sourcediff import pytrees

from .numpy_adjoints import (_SCALAR_TYPES, DictAdjoint, ListAdjoint, ObjectAdjoint, TupleAdjoint,
                             _dict_adjoint, _ndarray, add, as_list_adjoint, as_tuple_adjoint, zeros_like)
from .numpy_array_ops import *  # noqa: F401,F403  (helpers of reductions, shape, indexing, linalg)
from .numpy_linalg_ops import *  # noqa: F401,F403  (helpers of the np.linalg decompositions)
from .numpy_elementwise_ops import *  # noqa: F401,F403  (helpers of operators and elementwise rules)
from .numpy_shape_ops import *  # noqa: F401,F403  (helpers of cumulative, repeating and rearranging rules)
from .numpy_rearrange_ops import *  # noqa: F401,F403  (helpers of roll, pad, split, take, interp, convolve ...)
from .numpy_statistics_ops import *  # noqa: F401,F403  (helpers of statistics, sinc and math.prod/dist/gamma)
from .numpy_complex_ops import *  # noqa: F401,F403  (helpers of complex values and np.fft)
from .scipy_special_ops import *  # noqa: F401,F403  (helpers of the scipy.special rules; SciPy loads on use)
from .numpy_python_ops import *  # noqa: F401,F403  (helpers of the dict methods' rules)
from .scipy_linalg_ops import *  # noqa: F401,F403  (helpers of the scipy.linalg rules; SciPy loads on use)
from .scipy_stats_ops import *  # noqa: F401,F403  (helpers of the scipy.stats rules; SciPy loads on use)
from .scipy_signal_ops import *  # noqa: F401,F403  (helpers of the scipy.signal rules; SciPy loads on use)
from .numpy_tangents import *  # noqa: F401,F403  (zero and fitted tangents of forward mode)



def unbroadcast(g, x):
    """Sum ``g`` down to the shape of ``x``, undoing NumPy broadcasting."""
    if type(x) in _SCALAR_TYPES:
        if type(g) in _SCALAR_TYPES:
            return g
        return np.sum(g).item() if np.ndim(g) else g.item() if hasattr(g, "item") else g
    if isinstance(g, (list, tuple)) and isinstance(x, (list, tuple)):
        if len(g) != len(x):
            from sourcediff.errors import SourcediffError

            raise SourcediffError("sourcediff cannot differentiate joining lists or tuples with + (or * n) yet",
                                  hint="build the list with .append or .extend, or use np.concatenate for arrays")
        return g  # a container's adjoint (a tape, a record of residuals) has its structure: nothing broadcast
    return unbroadcast_to(g, np.shape(x))


def sum_product(a, b):
    """``unbroadcast(a * b, x)`` for a Python number ``x``: the sum of ``a * b``, in one pass for two real arrays."""
    if type(a) is _ndarray and type(b) is _ndarray and a.shape == b.shape \
            and a.dtype.kind == "f" and b.dtype.kind == "f":
        return np.vdot(a, b).item()
    return unbroadcast(a * b, 0.0)


def list_adjoint(adjoint, items):
    """The adjoint of the list ``items`` as a list (``np.sum(lst)`` gives it as an array, one row per element)."""
    if type(adjoint) is _ndarray and adjoint.ndim and len(adjoint) == len(items):
        return ListAdjoint(float(v) if type(x) in _SCALAR_TYPES else v for v, x in zip(adjoint, items))
    return adjoint


def index_adjoint(g, x, index):
    """Adjoint of ``x[index]``: ``g`` scattered into zeros shaped like ``x``.

    For a dict it is a :class:`DictAdjoint` holding the one key ``index``.
    """
    if type(x) is not _ndarray:
        if isinstance(x, (tuple, list)):
            out = [zeros_like(v) for v in x]
            if isinstance(index, slice):
                for i, v in zip(range(*index.indices(len(x))), g):
                    out[i] = v
            else:
                out[index] = g
            return ListAdjoint(out) if isinstance(x, list) else TupleAdjoint(out)
        if isinstance(x, dict):
            out = DictAdjoint({index: g})
            out.primal = x
            return out
    out = np.zeros(np.shape(x), dtype=np.result_type(g, np.float64))
    if _is_basic(index):
        out[index] = g  # slices and integers never repeat an element
    else:
        np.add.at(out, _without_masks(index), g)  # integer arrays may repeat: accumulate
    return out


def _is_basic(index) -> bool:
    if isinstance(index, tuple):
        return all(_is_basic(i) for i in index)
    return index is None or index is Ellipsis or isinstance(index, (int, np.integer, slice))


def _without_masks(index):
    """Boolean masks as integer indices (``np.add.at`` reads booleans as 0 and 1)."""
    if isinstance(index, tuple):
        parts = []
        for i in index:
            parts.extend(_without_masks(i) if _is_mask(i) else (i,))
        return tuple(parts)
    if _is_mask(index):
        return np.nonzero(index)
    return index


def _is_mask(index) -> bool:
    return getattr(index, "dtype", None) == np.bool_ or (
        isinstance(index, list) and index and all(isinstance(v, (bool, np.bool_)) for v in index))


def scalar_seed(value):
    """The seed ``1.0`` of a scalar output; refuses a non-scalar one before the backward pass."""
    if type(value) is float or np.ndim(value) == 0:
        return 1.0
    from sourcediff.errors import NonScalarOutputError

    raise NonScalarOutputError(
        f"grad needs a scalar output, but the function returned an array of shape {np.shape(value)}",
        hint="reduce it (for example with np.sum or np.mean), or use sourcediff.vjp for non-scalar outputs")


def attribute_adjoint(g, obj, name):
    """Adjoint of ``obj.name`` for a namedtuple, dataclass or plain object (``types.SimpleNamespace``).

    A namedtuple gives a :class:`TupleAdjoint`, zero except at ``name``; a
    dataclass or plain object gives an :class:`ObjectAdjoint` ``{name: g}``.
    Reading a class constant contributes nothing. A property, or an instance
    attribute that is not a dataclass field, is refused: its value comes from
    code that sourcediff did not differentiate.
    """
    kind = type(obj)
    if hasattr(kind, "_fields") and isinstance(obj, tuple):
        fields = kind._fields
        if name in fields:
            i = fields.index(name)
            return TupleAdjoint([g if j == i else zeros_like(v) for j, v in enumerate(obj)])
    else:
        fields = pytrees.record_fields(obj) if not isinstance(obj, (np.ndarray, np.generic)) else None
        if fields is not None and name in fields:
            out = ObjectAdjoint()
            out[name] = g
            return out
    return _constant_attribute_adjoint(obj, name, fields)


def attribute_of_adjoint(g, obj, name):
    """The part of an object's adjoint ``g`` that belongs to ``obj.name``, the transpose of
    :func:`attribute_adjoint`: a namedtuple's by position, another record's by key; zeros shaped like ``obj.name``
    where ``g`` holds none."""
    value = None
    kind = type(obj)
    if isinstance(g, tuple) and hasattr(kind, "_fields") and isinstance(obj, tuple):
        value = g[kind._fields.index(name)] if name in kind._fields else None
    elif isinstance(g, dict):
        value = g.get(name)
    elif g is not None:
        value = getattr(g, name, None)
    return zeros_like(getattr(obj, name)) if value is None else value


def _constant_attribute_adjoint(obj, name, fields):
    from sourcediff.errors import MissingRuleError

    kind = type(obj)
    what = f"the attribute .{name} of a {kind.__name__}"
    if fields is None:
        raise MissingRuleError(f"no derivative rule for {what}",
                               hint="read it outside the differentiated function, or register a rule with "
                                    "sourcediff.rules.registry.defattribute")
    for cls in kind.__mro__:
        if name in cls.__dict__:
            attribute = cls.__dict__[name]
            if hasattr(type(attribute), "__get__"):
                raise MissingRuleError(
                    f"cannot differentiate {what}: it is a {type(attribute).__name__} of the class, computed by "
                    "code that sourcediff does not differentiate",
                    hint=f"compute it from the fields of {kind.__name__} inside the differentiated function")
            if name not in getattr(obj, "__dict__", ()):
                return zeros_like(obj)  # a class constant: it does not depend on the object's fields
            break
    raise MissingRuleError(
        f"cannot differentiate {what}: it is not one of its fields ({', '.join(fields) or 'none'})",
        hint="make it a dataclass field, or compute it inside the differentiated function")


def builtin_sum_adjoint(g, iterable):
    """Adjoint of the builtin ``sum(iterable)``: every element receives ``g``."""
    if isinstance(iterable, (list, tuple)):
        adjoints = [unbroadcast(g, v) for v in iterable]
        return as_tuple_adjoint(adjoints) if isinstance(iterable, tuple) else as_list_adjoint(adjoints)
    shape = np.shape(iterable)  # an array: sum over its first axis
    return np.array(np.broadcast_to(g, shape), dtype=np.float64)


def sequence_adjoint(g, x):
    """Adjoint of ``list(x)`` / ``tuple(x)``, given back in the structure of ``x``."""
    if isinstance(x, dict):
        return zeros_like(x)  # list(d) is the keys
    if isinstance(x, np.ndarray):
        if type(g) is np.ndarray and g.shape == x.shape:  # a loop's adjoint, gathered row by row: one copy
            return np.array(g, dtype=np.float64)
        return np.array([np.asarray(v, dtype=np.float64) + np.zeros(x.shape[1:]) for v in g]).reshape(x.shape)
    return as_tuple_adjoint(g) if isinstance(x, tuple) else as_list_adjoint(g)


def field_adjoint(g, field, like):
    """The adjoint of one field (a name, or a position of a namedtuple) of an object's adjoint ``g``."""
    if isinstance(g, dict):
        value = g.get(field)
    elif isinstance(g, tuple):
        value = g[field]
    else:
        value = getattr(g, field, None)
    return zeros_like(like) if value is None else value


def builtin_extremum_adjoint(g, args, ans):
    """Adjoints of ``max(*args)`` / ``min(*args)`` (or of one iterable): ``g`` shared among the ties."""
    values = args[0] if len(args) == 1 else args
    # equal as Python compares them: a tuple is never equal to a number (NumPy would broadcast the comparison)
    hits = [np.ndim(v) == np.ndim(ans) and bool(np.all(v == ans)) for v in values]
    share = g / sum(hits)
    adjoints = [share if hit else 0.0 for hit in hits]
    if len(args) == 1:
        if isinstance(values, np.ndarray):
            return (np.array(adjoints, dtype=np.float64).reshape(values.shape),)
        return (as_tuple_adjoint(adjoints) if isinstance(values, tuple) else as_list_adjoint(adjoints),)
    return tuple(adjoints)


def builtin_extremum_tangent(t, args, ans):
    """Tangent of ``max(*args)`` / ``min(*args)`` (or of one iterable): the mean of the tied arguments' tangents
    (``t`` holds one tangent per argument, or per element), as the adjoint shares ``g``."""
    values, tangents = (args[0], t[0]) if len(args) == 1 else (args, t)
    hits = [k for k, v in enumerate(values) if np.ndim(v) == np.ndim(ans) and bool(np.all(v == ans))]
    return sum(tangents[k] for k in hits) / len(hits)


def field_tangent(t, field, ans):
    """The contribution of one field's tangent to the tangent of a record ``ans`` (namedtuple, dataclass,
    namespace): a zero tangent shaped like ``ans`` (``zeros_like``) holding ``t`` at ``field``."""
    out = zeros_like(ans)
    if out is None:
        return None
    if isinstance(out, tuple):
        return TupleAdjoint(t if k == field else v for k, v in enumerate(out))
    out[field] = t
    return out


# -- in-place updates: saving and restoring what a write overwrites, and the adjoints of writes ----

def snapshot(value):
    """A copy of what a write is about to overwrite (``x[i]`` or a whole array); numbers are kept as they are."""
    if type(value) is _ndarray:
        return value.copy()
    if isinstance(value, list):
        return list(value)
    return value


_MISSING = object()  # a dict's key that a write is about to add


def snapshot_item(container, key):
    """``snapshot(container[key])``, or a marker when ``container`` is a dict without ``key`` yet."""
    if isinstance(container, dict) and key not in container:
        return _MISSING
    return snapshot(container[key])


def restore_item(container, key, saved):
    """Undo ``container[key] = v``: put the snapshot back, or take the key out again."""
    if saved is _MISSING:
        del container[key]
    else:
        container[key] = saved


def snapshot_contents(value):
    """What a helper may overwrite in an object: a copy of an array, list or dict (``restore`` puts it back)."""
    if isinstance(value, dict):
        return dict(value)
    return snapshot(value)


def keep_value(value):
    """The returned value as it is now: arrays in it copied, before the backward pass restores what was overwritten."""
    if type(value) in _SCALAR_TYPES:
        return value
    return pytrees.map_leaves(lambda leaf: leaf.copy() if type(leaf) is _ndarray else leaf, value)


def assign_into(target, value):
    """``target op= value`` for an array: the result written into ``target`` itself; a number is just replaced."""
    if type(target) is _ndarray:
        np.copyto(target, value, casting="same_kind")
        return target
    return value


def restore(target, saved):
    """Put a snapshot back into the same object (its other names see it too): undoes ``assign_into``, or a
    helper's writes into an array, list or dict."""
    if type(target) is _ndarray:
        target[...] = saved
        return target
    if isinstance(target, list) and isinstance(saved, list):
        target[:] = saved
        return target
    if isinstance(target, dict) and isinstance(saved, dict):
        target.clear()
        target.update(saved)
        return target
    return saved


def own(adjoint):
    """A private copy of an adjoint that is about to be updated in place."""
    if type(adjoint) is _ndarray:
        return adjoint.copy()
    if type(adjoint) is DictAdjoint:
        return _dict_adjoint(adjoint.primal, adjoint)
    if isinstance(adjoint, list):
        return ListAdjoint(adjoint)
    return adjoint


def add_at(adjoint, index, value):
    """``adjoint[index] += value`` (the adjoint of a read ``x[index]``), in place where the adjoint is mutable.

    Repeated indices accumulate. Returns the adjoint (a new one for a tuple).
    """
    if type(adjoint) is _ndarray:
        if _is_basic(index):
            adjoint[index] += value
        else:
            np.add.at(adjoint, _without_masks(index), value)
        return adjoint
    if isinstance(adjoint, tuple):
        if type(index) is int:  # one element: the others are kept as they are (a tuple's adjoint is immutable)
            items = list(adjoint)
            items[index] = add(items[index], value)
            return TupleAdjoint(items)
        return add(adjoint, index_adjoint(value, adjoint, index))
    if isinstance(index, slice) and isinstance(adjoint, list):
        for i, v in zip(range(*index.indices(len(adjoint))), value):
            adjoint[i] = add(adjoint[i], v)
    else:
        adjoint[index] = add(adjoint[index], value)
    return adjoint


def store_adjoint(adjoint, index, value, array=None):
    """Adjoint of ``value`` in ``array[index] = value``; the overwritten part of ``adjoint`` is zeroed in place.

    With repeated integer indices NumPy keeps the last write, so only the last
    occurrence of each element receives its adjoint. Written into an integer
    array, a value is truncated: it receives nothing. (``written_part`` and
    ``clear_at``, which is how code differentiating a derivative again spells it.)
    """
    part = written_part(adjoint, index, array)
    clear_at(adjoint, index)
    if value is None or (type(adjoint) is not _ndarray and isinstance(index, slice)):
        return part
    return unbroadcast(part, value)


def increment_adjoint(adjoint, index, array, negate=False):
    """Adjoint of ``d`` in ``array[index] = array[index] + d`` (``- d`` with ``negate``).

    With a basic index (integers and slices) every element is written once, so
    the old elements keep their adjoint and ``d`` receives a copy of it. An
    integer-array or mask index goes the general way (cut the written part, then
    add it back for the read); an integer array truncates: ``d`` receives zeros.
    """
    if array.dtype.kind in "biu":
        return store_adjoint(adjoint, index, None, array)
    if _is_basic(index):
        part = adjoint[index]
        return -part if negate else part.copy() if type(part) is _ndarray else part
    part = store_adjoint(adjoint, index, None, array)
    add_at(adjoint, index, part)
    return -part if negate else part


def accumulate_at(array, index, value, negate=False):
    """What ``np.add.at(array, index, value)`` (``np.subtract.at`` with ``negate``) leaves in ``array[index]``.

    Every element gets all the values aimed at it, repeated indices included; the
    array itself is not changed (the generated code writes the result back).
    """
    ufunc = np.subtract if negate else np.add
    if _is_basic(index) or _is_mask(index):  # each element at most once
        return ufunc(array[index], value).astype(array.dtype, copy=False)
    out = array.copy()
    ufunc.at(out, index, value)
    return out[index]


def accumulate_at_adjoint(g, array, index, value, negate=False):
    """Adjoint of ``value`` in ``accumulate_at``: each value receives the adjoint of the element it was added to."""
    if array.dtype.kind in "biu":
        return unbroadcast(np.zeros(np.shape(g)), value)
    if _is_basic(index) or _is_mask(index):
        part = g
    else:
        total = np.zeros(array.shape, dtype=np.result_type(g, np.float64))
        np.add.at(total, _without_masks(index), g)
        part = total[index]
    return unbroadcast(-part if negate else part, value)


def store_adjoint_to(adjoint, index, shape, array=None):
    """``store_adjoint`` given only the shape of the value written (the value itself was not kept)."""
    return unbroadcast_to(store_adjoint(adjoint, index, None, array), shape)


def clear_at(adjoint, index):
    """Zero the part of an adjoint whose elements a write overwrote (in place)."""
    if type(adjoint) is _ndarray:
        adjoint[index] = 0.0
    elif isinstance(index, slice):
        for i in range(*index.indices(len(adjoint))):
            adjoint[i] = _cleared_element(adjoint[i])
    else:
        adjoint[index] = _cleared_element(adjoint[index])


def _cleared_element(adjoint):
    """The zero left in a list's or dict's adjoint where a write replaced an element: ``0.0`` for an array or a
    number, since the element put back in the backward pass may have another shape; a zero of the same structure
    for a container."""
    if type(adjoint) is _ndarray or type(adjoint) in _SCALAR_TYPES:
        return 0.0
    return zeros_like(adjoint)


def refuse_shared_arguments(function, mutated, arguments):
    """Refuse when an argument the function writes into shares memory with another argument.

    Which arrays are the same cannot be known from the source; written through
    one name and read through another, they would give a silently wrong derivative.
    """
    for m in mutated:
        for other, value in arguments.items():
            if other != m and type(value) is _ndarray and type(arguments[m]) is _ndarray \
                    and np.may_share_memory(arguments[m], value):
                from sourcediff.errors import SourcediffError

                raise SourcediffError(
                    f"{function} writes into its argument {m!r}, which shares memory with its argument {other!r}",
                    hint=f"pass a copy ({other}.copy()), or read both through one name")


def unbroadcast_to(g, shape):
    """Sum ``g`` down to ``shape``, undoing NumPy broadcasting (``unbroadcast`` when only the shape was kept)."""
    if type(g) in _SCALAR_TYPES and not shape:
        return g
    gshape = np.shape(g)
    if gshape == shape:
        return g
    if len(gshape) < len(shape):  # a value with leading length-1 axes written into a smaller slot
        g = np.reshape(g, (1,) * (len(shape) - len(gshape)) + tuple(gshape))
        gshape = np.shape(g)
    extra = len(gshape) - len(shape)
    if extra > 0:
        g = np.sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(g)[i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    if np.shape(g) != shape:
        g = np.broadcast_to(g, shape)
    return g


def not_a_view(value, message, filename=None, lineno=None, changed=()):
    """``value``, unless it is (or a list, tuple or dict of it holds) a view, or one of the arrays ``changed``
    (written in place since it was read): then refuse."""
    if _holds_a_view(value) or (changed and _holds_one_of(value, changed)):
        import linecache

        from sourcediff.errors import UnsupportedSyntaxError

        raise UnsupportedSyntaxError("sourcediff cannot differentiate " + message, filename=filename,
                                     lineno=lineno, source_line=linecache.getline(filename, lineno) if lineno else None,
                                     hint="take a copy when you read it (x[1:3].copy(), x[i].copy()), or index "
                                          "the array again after the update")
    return value


def _holds_a_view(value) -> bool:
    if type(value) is _ndarray:
        return value.base is not None
    if isinstance(value, (list, tuple)):
        return any(_holds_a_view(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_a_view(v) for v in value.values())
    return False


def _holds_one_of(value, arrays) -> bool:
    if type(value) is _ndarray:
        return any(type(a) is _ndarray and np.may_share_memory(value, a) for a in arrays)
    if isinstance(value, (list, tuple)):
        return any(_holds_one_of(v, arrays) for v in value)
    if isinstance(value, dict):
        return any(_holds_one_of(v, arrays) for v in value.values())
    return False


def view_again(view, base, index):
    """``view`` as it reads now: ``base[index]`` when it is a view of the array ``base`` (which changed since),
    else ``view`` itself (a slice of a list is a copy)."""
    if type(view) is _ndarray and type(base) is _ndarray and np.may_share_memory(view, base):
        return base[index]
    return view


def view_again_adjoint(g, view, base, index, part):
    """The adjoint of ``view_again``: the base's scatter of ``g`` if it read the base again, else ``view``'s."""
    again = type(view) is _ndarray and type(base) is _ndarray and np.may_share_memory(view, base)
    if part == "base":
        return index_adjoint(g, base, index) if again else zeros_like(base)
    return zeros_like(view) if again else g


def view_again_tangent(t, view, base, index, part):
    """The contribution of ``view``'s or ``base``'s tangent to ``view_again``: the base's ``t[index]`` if it read
    the base again, else the view's ``t``; zero for the other part."""
    again = type(view) is _ndarray and type(base) is _ndarray and np.may_share_memory(view, base)
    if part == "base":
        return t[index] if again else zeros_like(view)
    return zeros_like(view) if again else t


def immutable_value(value, message, hint, filename=None, lineno=None):
    """``value``, for ``y += v`` where y may share its object: fine for a number (it is rebound), refused for
    an array, list or other object that would change in place where sourcediff cannot follow it."""
    if isinstance(value, (int, float, complex, np.generic, str, bytes, tuple, frozenset)) or value is None:
        return value
    import linecache

    from sourcediff.errors import UnsupportedSyntaxError

    raise UnsupportedSyntaxError(f"sourcediff cannot differentiate {message} yet", filename=filename, lineno=lineno,
                                 source_line=linecache.getline(filename, lineno) if lineno else None, hint=hint)


def check_index(values, filename=None, lineno=None):
    """Refuse an index that holds floats computed from differentiated values (integers and keys carry no
    gradient; a float index would be read by an object such as ``np.r_`` that builds values from it)."""
    for value in values:
        if _holds_floats(value):
            import linecache

            from sourcediff.errors import UnsupportedSyntaxError

            raise UnsupportedSyntaxError(
                "sourcediff cannot differentiate a subscript whose index holds floats computed from the "
                "differentiated arguments", filename=filename, lineno=lineno,
                source_line=linecache.getline(filename, lineno) if lineno else None,
                hint="index with integers (int(...)); to build an array from values use np.concatenate or np.stack")


def _holds_floats(value) -> bool:
    if isinstance(value, (float, complex, np.inexact)):
        return True
    if type(value) is _ndarray:
        return value.dtype.kind in "fc"
    if isinstance(value, (tuple, list)):
        return any(_holds_floats(v) for v in value)
    return False


def iterable(x):
    """What ``for v in x`` runs over, as something indexable: a dict's keys, an iterator's (or a set's) items
    as a list, anything else as it is."""
    if isinstance(x, dict) or not (hasattr(x, "__getitem__") and hasattr(x, "__len__")):
        return list(x)
    return x


# -- undoing list changes, on the list and on its adjoint --------------------------------------

def unpop(items, index, value):
    """Put back what ``items.pop(index)`` took (``index`` None: the last one); returns ``items``."""
    if index is None:
        items.append(value)
    else:
        items.insert(index if index >= 0 else len(items) + 1 + index, value)
    return items


def unextend(items, count):
    """Take back the last ``count`` elements that ``items.extend(...)`` added; returns them."""
    if count == 0:
        return ListAdjoint()
    part = ListAdjoint(items[-count:])
    del items[-count:]
    return part


def uninsert(items, index):
    """Take back what ``items.insert(index, v)`` added; returns it."""
    return items.pop(uninsert_position(items, index))


def uninsert_position(items, index):
    """Where ``items.insert(index, v)`` put ``v``, ``items`` holding it."""
    before = len(items) - 1
    return min(index, before) if index >= 0 else max(before + index, 0)


def check_array_attribute(obj, name):
    """Refuse ``obj.shape`` (``.T``, ...) read as an array attribute when ``obj`` is a record with such a field."""
    if type(obj) is _ndarray or type(obj) in _SCALAR_TYPES:
        return
    fields = pytrees.record_fields(obj) if not isinstance(obj, np.generic) else None
    if fields is None and pytrees.is_namedtuple(obj):
        fields = type(obj)._fields
    if fields is not None and name in fields:
        from sourcediff.errors import MissingRuleError

        raise MissingRuleError(
            f"{type(obj).__name__}.{name} is a field, but sourcediff reads .{name} as the array attribute",
            hint=f"rename the field (for example {name}_), or keep the value in a dict")


# -- the in-place adjoint helpers spelled out, for differentiating generated code again --------------------
# A derivative's backward pass updates adjoints in place (store_adjoint, clear_at, add_at, unpop). When sourcediff
# differentiates that code again, the parse stage spells each of those calls out as a pure call and a visible
# write (``sourcediff.parse.spell_out_writes``), so that the next transformation sees every change of memory.
# These are the pure calls it writes; each has a rule (rules/runtime.py).

def _last_writes(shape, index, part_shape):
    """Where ``array[index] = v`` keeps an element of ``v``: with repeated integer indices, only the last
    occurrence of each element lands (NumPy's rule); a boolean mask on ``part_shape`` positions."""
    ids = np.arange(int(np.prod(part_shape, dtype=int))).reshape(part_shape)
    last = np.full(shape, -1)
    last[index] = ids
    return last[index] == ids


def written_part(adjoint, index, array=None):
    """What ``sd.store_adjoint(adjoint, index, None, array)`` returns, without zeroing ``adjoint[index]``: the
    adjoint of the elements that ``array[index] = v`` wrote (last write wins; zeros for an integer array)."""
    if type(array) is _ndarray and array.dtype.kind in "biu":
        return adjoint[index] * 0.0
    if type(adjoint) is not _ndarray:
        if isinstance(index, slice):
            return ListAdjoint(adjoint[i] for i in range(*index.indices(len(adjoint))))
        return adjoint[index]
    if type(index) is int and adjoint.ndim == 1:
        return adjoint[index]
    if _is_basic(index) or _is_mask(index):
        return np.array(adjoint[index])
    part = adjoint[index]
    return np.where(_last_writes(adjoint.shape, index, part.shape), part, 0.0)


def written_part_adjoint(g, adjoint, index, array=None):
    """The transpose of :func:`written_part` in ``adjoint``: ``g`` put back at ``index`` (last writes only) in
    zeros shaped like ``adjoint``."""
    if type(array) is _ndarray and array.dtype.kind in "biu":
        return zeros_like(adjoint)
    if isinstance(adjoint, dict):  # a dict's adjoint: g at the key written, the other keys zero (fuzz 1300914000)
        out = zeros_like(adjoint)
        out[index] = g
        return out
    if type(adjoint) is not _ndarray:
        out = [zeros_like(v) for v in adjoint]
        if isinstance(index, slice):
            for i, v in zip(range(*index.indices(len(adjoint))), g):
                out[i] = v
        else:
            out[index] = g
        return ListAdjoint(out)
    out = np.zeros(adjoint.shape, dtype=np.result_type(g, np.float64))
    if _is_basic(index) or _is_mask(index):
        out[index] = g
        return out
    part_shape = np.shape(adjoint[index])
    kept = np.where(_last_writes(adjoint.shape, index, part_shape), np.broadcast_to(g, part_shape), 0.0)
    out[index] = kept  # each element receives its last write only: the others are zero
    return out


def increment_part(adjoint, index, array, negate=False):
    """What ``sd.increment_adjoint`` returns, for a float ``array`` (where it leaves ``adjoint`` as it was)."""
    if array.dtype.kind in "biu":
        from sourcediff.errors import SourcediffError

        raise SourcediffError("sourcediff cannot differentiate again a derivative that adds floats into an integer "
                              "array in place (the values are truncated)",
                              hint="make the array a float array (dtype=float)")
    part = written_part(adjoint, index, array)
    return -part if negate else part


def cleared(adjoint, index):
    """The zeros that ``sd.clear_at(adjoint, index)`` writes at ``adjoint[index]``: ``0.0`` for an array, a zero
    adjoint per element of a list."""
    if type(adjoint) is _ndarray:
        return 0.0
    if isinstance(index, slice):
        return ListAdjoint(_cleared_element(adjoint[i]) for i in range(*index.indices(len(adjoint))))
    return _cleared_element(adjoint[index])


def added_at(adjoint, index, value):
    """What ``sd.add_at(adjoint, index, value)`` leaves at ``adjoint[index]`` (repeated indices accumulate)."""
    if type(adjoint) is _ndarray:
        if _is_basic(index) or _is_mask(index):
            return adjoint[index] + value
        out = adjoint.copy()
        np.add.at(out, index, value)
        return out[index]
    if isinstance(index, slice):
        return ListAdjoint(add(adjoint[i], v) for i, v in zip(range(*index.indices(len(adjoint))), value))
    return add(adjoint[index], value)


def added_at_adjoint(g, adjoint, index, value):
    """The adjoint of ``value`` in :func:`added_at`: each value receives ``g`` of the element it lands on."""
    if type(adjoint) is _ndarray:
        if _is_basic(index) or _is_mask(index):
            return unbroadcast(g, value)
        total = np.zeros(adjoint.shape, dtype=np.result_type(g, np.float64))
        np.add.at(total, index, g)
        return unbroadcast(total[index], value)
    return ListAdjoint(g) if isinstance(index, slice) else g


def as_mutable(adjoint):
    """A private copy of an adjoint that ``adjoint[i] = ...`` can write into: a tuple's adjoint becomes a list
    adjoint. (A copy, so that the next transformation knows no other name holds it.)"""
    if isinstance(adjoint, tuple):
        return ListAdjoint(adjoint)
    return own(adjoint)


def restored_value(saved):
    """What ``sd.restore_item(container, key, saved)`` writes back at ``container[key]``: the snapshot; a key that
    the write added (the snapshot is a marker) is refused."""
    if saved is _MISSING:
        from sourcediff.errors import SourcediffError

        raise SourcediffError("sourcediff cannot differentiate again a derivative that adds a key to a dict",
                              hint="fill the dict with every key before the differentiated code writes into it")
    return saved


def unpop_position(items, index):
    """Where ``sd.unpop(items, index, value)`` inserts ``value``: ``index`` counted as ``items.pop(index)`` did."""
    return index if index >= 0 else len(items) + 1 + index
