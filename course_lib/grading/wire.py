"""Carry a learner's answers from the sandboxed process to the grader as plain JSON.

The autograder runs a submission in another process and gets back only what the submission's
functions returned for each case. Nothing from that process is trusted, so the answers travel
as JSON (never pickle: unpickling hands the sender a way to run code in the grader) and
:func:`decode` rebuilds them defensively: numpy arrays only with plain numeric, boolean, text
or date dtypes, sizes checked against the bytes received, nesting depth bounded. Objects of any
other type arrive as :class:`Opaque`, which equals nothing, so they fail their case with a
message naming their type.

Examples
--------
>>> import numpy as np
>>> from course_lib.grading.wire import decode, encode
>>> decode(encode({"psi": 0.25, "bins": np.arange(3)}))
{'psi': 0.25, 'bins': array([0, 1, 2])}
>>> decode(encode(float("nan")))
nan
>>> decode(encode(open))
<opaque builtin_function_or_method: <built-in function open>>
"""

from __future__ import annotations

import base64
import dataclasses
import math
import sys
from typing import Any

#: numpy dtype kinds that can be rebuilt from raw bytes safely (no object pointers, no structs).
_SAFE_KINDS = frozenset("biufcmMSU")
_MAX_DEPTH = 40
#: Larger integers would not survive JSON (Python limits int-to-text conversion to 4300 digits).
_MAX_INT_BITS = 8192


class WireError(ValueError):
    """Answers that cannot be encoded within the limits, or data that is not a valid encoding."""


class Opaque:
    """An answer of a type the wire does not carry: its type name and a bounded repr.

    It compares unequal to everything, so the case fails with a message naming the type.
    """

    __slots__ = ("type_name", "text")

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<opaque {self.type_name}: {self.text}>"


class Record:
    """A dataclass or named tuple answer, rebuilt as named fields (compared field by field)."""

    def __init__(self, type_name: str, fields: dict[str, Any]) -> None:
        object.__setattr__(self, "_type_name", type_name)
        object.__setattr__(self, "_fields", dict(fields))

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_fields"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Record is read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and (self._type_name, self._fields) == (other._type_name, other._fields)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in self._fields.items())
        return f"{self._type_name}({inner})"


class _Budget:
    def __init__(self, max_bytes: int) -> None:
        self.left = max_bytes

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise WireError("the answer is too large to grade")


def encode(value: Any, *, max_bytes: int = 32 * 2**20) -> Any:
    """Encode an answer as JSON-compatible data.

    Parameters
    ----------
    value : object
        What the learner's function returned.
    max_bytes : int
        Rough bound on the encoded size; larger answers raise :class:`WireError`.
    """
    return _encode(value, _Budget(max_bytes), 0)


def _safe_repr(value: Any, limit: int = 200) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - a broken __repr__ is the learner's, not ours
        text = f"<repr raised {type(exc).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def type_name(value: Any) -> str:
    """The qualified name of a value's type, as feedback shows it (``numpy.ndarray``, ``dict``)."""
    kind = type(value)
    module = getattr(kind, "__module__", "") or ""
    name = getattr(kind, "__qualname__", kind.__name__)
    return name if module in ("builtins", "__main__", "") else f"{module}.{name}"


def _encode(value: Any, budget: _Budget, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise WireError("the answer is nested too deeply to grade")
    budget.spend(8)
    if value is None or isinstance(value, bool):
        return value if value is None else bool(value)
    if isinstance(value, int) and not _is_numpy(value):
        if int(value).bit_length() > _MAX_INT_BITS:
            raise WireError(f"the answer holds an integer of {int(value).bit_length()} bits, too large to grade")
        return int(value)
    if isinstance(value, float) and not _is_numpy(value):
        number = float(value)
        return number if math.isfinite(number) else {"$": "float", "v": repr(number)}
    if isinstance(value, complex):
        return {
            "$": "complex",
            "re": _encode(value.real, budget, depth + 1),
            "im": _encode(value.imag, budget, depth + 1),
        }
    if isinstance(value, str):
        budget.spend(len(value))
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        budget.spend(len(value) * 4 // 3)
        return {"$": "bytes", "data": base64.b64encode(bytes(value)).decode("ascii")}
    if _is_numpy(value):
        return _encode_numpy(value, budget, depth)
    if _is_pandas(value):
        return _encode_pandas(value, budget, depth)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return _encode_record(type(value).__name__, list(value._fields), value, budget, depth)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [field.name for field in dataclasses.fields(value)]
        return _encode_record(type(value).__name__, names, value, budget, depth)
    if isinstance(value, list):
        return [_encode(item, budget, depth + 1) for item in list(value)]
    if isinstance(value, tuple):
        return {"$": "tuple", "items": [_encode(item, budget, depth + 1) for item in tuple(value)]}
    if isinstance(value, (set, frozenset)):
        return {"$": "set", "items": [_encode(item, budget, depth + 1) for item in list(value)]}
    if isinstance(value, dict):
        return {
            "$": "dict",
            "items": [
                [_encode(key, budget, depth + 1), _encode(item, budget, depth + 1)] for key, item in list(value.items())
            ],
        }
    text = _safe_repr(value)
    budget.spend(len(text))
    return {"$": "opaque", "type": type_name(value), "repr": text}


def _encode_record(type_name: str, names: list[str], value: Any, budget: _Budget, depth: int) -> dict:
    return {
        "$": "record",
        "type": type_name,
        "fields": [[name, _encode(getattr(value, name), budget, depth + 1)] for name in names],
    }


def _is_numpy(value: Any) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, (numpy.ndarray, numpy.generic))


def _is_pandas(value: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, (pandas.Series, pandas.DataFrame, pandas.Index))


def _encode_numpy(value: Any, budget: _Budget, depth: int) -> dict:
    import numpy as np

    scalar = isinstance(value, np.generic)
    array = np.asarray(value)
    if array.dtype.kind in _SAFE_KINDS and not array.dtype.hasobject:
        raw = np.ascontiguousarray(array).tobytes()
        budget.spend(len(raw) * 4 // 3)
        return {
            "$": "npscalar" if scalar else "ndarray",
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "data": base64.b64encode(raw).decode("ascii"),
        }
    if scalar:
        return {"$": "opaque", "type": type_name(value), "repr": _safe_repr(value)}
    items = [_encode(item, budget, depth + 1) for item in array.reshape(-1).tolist()]
    return {"$": "ndarray-object", "shape": list(array.shape), "items": items}


def _encode_pandas(value: Any, budget: _Budget, depth: int) -> dict:
    import pandas as pd

    if isinstance(value, pd.Index):
        return {
            "$": "Index",
            "name": _encode(value.name, budget, depth + 1),
            "values": _encode(value.to_numpy(), budget, depth + 1),
        }
    if isinstance(value, pd.Series):
        return {
            "$": "Series",
            "name": _encode(value.name, budget, depth + 1),
            "index": _encode_pandas(value.index, budget, depth + 1),
            "values": _encode(value.to_numpy(), budget, depth + 1),
        }
    return {
        "$": "DataFrame",
        "columns": _encode_pandas(value.columns, budget, depth + 1),
        "index": _encode_pandas(value.index, budget, depth + 1),
        "data": [_encode(value.iloc[:, j].to_numpy(), budget, depth + 1) for j in range(value.shape[1])],
    }


def decode(data: Any) -> Any:
    """Rebuild an answer from :func:`encode`'s output, trusting nothing in it.

    Raises
    ------
    WireError
        If ``data`` is not a valid encoding.
    """
    try:
        return _decode(data, 0)
    except WireError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        raise WireError(f"malformed answer data ({type(exc).__name__}: {exc})") from None


def _field(data: dict, key: str, kind: type | tuple[type, ...]) -> Any:
    value = data[key]
    if not isinstance(value, kind):
        raise WireError(f"malformed answer data: {key!r} has the wrong type")
    return value


def _decode(data: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise WireError("malformed answer data: nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [_decode(item, depth + 1) for item in data]
    if not isinstance(data, dict):
        raise WireError(f"malformed answer data: unexpected {type(data).__name__}")
    tag = _field(data, "$", str)
    if tag == "float":
        text = _field(data, "v", str)
        if text not in ("nan", "inf", "-inf"):
            raise WireError("malformed answer data: bad float")
        return float(text)
    if tag == "complex":
        return complex(_decode(data["re"], depth + 1), _decode(data["im"], depth + 1))
    if tag == "bytes":
        return base64.b64decode(_field(data, "data", str), validate=True)
    if tag in ("tuple", "set", "dict"):
        items = _field(data, "items", list)
        if tag == "tuple":
            return tuple(_decode(item, depth + 1) for item in items)
        if tag == "set":
            return {_decode(item, depth + 1) for item in items}
        return {_decode(_pair(item)[0], depth + 1): _decode(_pair(item)[1], depth + 1) for item in items}
    if tag == "record":
        fields = {}
        for item in _field(data, "fields", list):
            name, value = _pair(item)
            if not isinstance(name, str):
                raise WireError("malformed answer data: record field names must be text")
            fields[name] = _decode(value, depth + 1)
        return Record(_field(data, "type", str)[:100], fields)
    if tag == "opaque":
        return Opaque(_field(data, "type", str)[:200], _field(data, "repr", str)[:200])
    if tag in ("ndarray", "npscalar"):
        return _decode_array(data, scalar=tag == "npscalar")
    if tag == "ndarray-object":
        import numpy as np

        shape = _shape(data)
        items = [_decode(item, depth + 1) for item in _field(data, "items", list)]
        if math.prod(shape) != len(items):
            raise WireError("malformed answer data: object array size does not match its shape")
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array.reshape(shape)
    if tag in ("Index", "Series", "DataFrame"):
        return _decode_pandas(data, depth)
    raise WireError(f"malformed answer data: unknown tag {tag!r}")


def _pair(item: Any) -> tuple[Any, Any]:
    if not isinstance(item, list) or len(item) != 2:
        raise WireError("malformed answer data: expected a pair")
    return item[0], item[1]


def _shape(data: dict) -> tuple[int, ...]:
    shape = _field(data, "shape", list)
    if len(shape) > 32 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise WireError("malformed answer data: bad array shape")
    return tuple(shape)


def _decode_array(data: dict, *, scalar: bool) -> Any:
    import numpy as np

    dtype = np.dtype(_field(data, "dtype", str))
    if dtype.kind not in _SAFE_KINDS or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise WireError(f"malformed answer data: dtype {dtype.str} is not accepted")
    shape = _shape(data)
    raw = base64.b64decode(_field(data, "data", str), validate=True)
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise WireError("malformed answer data: array bytes do not match its shape")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    return array[()] if scalar else array


def _decode_pandas(data: dict, depth: int) -> Any:
    import numpy as np
    import pandas as pd

    tag = data["$"]
    if tag == "Index":
        values = _decode(data["values"], depth + 1)
        if not isinstance(values, np.ndarray):
            raise WireError("malformed answer data: index values must be an array")
        return pd.Index(values, name=_hashable(_decode(data["name"], depth + 1)))
    index = _decode(data["index"], depth + 1)
    if not isinstance(index, pd.Index):
        raise WireError("malformed answer data: bad index")
    if tag == "Series":
        values = _decode(data["values"], depth + 1)
        if not isinstance(values, np.ndarray) or values.shape != (len(index),):
            raise WireError("malformed answer data: series values do not match the index")
        return pd.Series(values, index=index, name=_hashable(_decode(data["name"], depth + 1)))
    columns = _decode(data["columns"], depth + 1)
    if not isinstance(columns, pd.Index):
        raise WireError("malformed answer data: bad columns")
    blocks = [_decode(item, depth + 1) for item in _field(data, "data", list)]
    if len(blocks) != len(columns) or not all(isinstance(b, np.ndarray) and b.shape == (len(index),) for b in blocks):
        raise WireError("malformed answer data: frame columns do not match")
    frame = pd.DataFrame({position: block for position, block in enumerate(blocks)}, index=index)
    frame.columns = columns
    return frame


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        raise WireError("malformed answer data: a name must be hashable") from None
    return value
