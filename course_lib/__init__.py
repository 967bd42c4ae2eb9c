"""course_lib: the reference solutions and tools behind the course on monitoring ML models.

One submodule per lesson topic (see the table in the README):

========  ==============================  =====================================
lesson    module                          what it holds
========  ==============================  =====================================
01        :mod:`course_lib.simulate`      seeded data with covariate, prior and concept shift
02        :mod:`course_lib.stats`,        two-sample statistics and the drift report
          :mod:`course_lib.drift`
03        :mod:`course_lib.streams`,      stream drift detectors, performance monitoring
          :mod:`course_lib.performance`
04        :mod:`course_lib.canary`        canary routing, tests and verdicts
05        :mod:`course_lib.retraining`    retraining policies and a model registry
06        :mod:`course_lib.observability` logs, metrics, alert rules, traces, events
all       :mod:`course_lib.grading`       exercise registry, self-check and autograder
========  ==============================  =====================================

``course_lib.progress()`` shows which exercises of which lesson pass, fail or are not attempted
yet (see :mod:`course_lib.grading.progress`).

``import course_lib`` is deliberately light: submodules are imported on first attribute access,
so the browser (Pyodide) pays for numpy, scipy or pandas only when a lesson needs them.

Examples
--------
>>> import course_lib
>>> course_lib.__version__
'0.1.0'
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Submodules loaded lazily by __getattr__ below (PEP 562).
_SUBMODULES = (
    "simulate",
    "stats",
    "drift",
    "streams",
    "performance",
    "canary",
    "retraining",
    "observability",
    "plots",
    "datasets",
    "grading",
    "lessons",
)

# Functions loaded the same way, from the module that holds them. progress() lives in
# course_lib.grading.progress, not course_lib.progress: a submodule of that name would replace
# the function with the module as soon as anything imported it.
_FUNCTIONS = {"progress": "course_lib.grading.progress"}

__all__ = ["__version__", *_SUBMODULES, *_FUNCTIONS]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    if name in _FUNCTIONS:
        function = getattr(importlib.import_module(_FUNCTIONS[name]), name)
        globals()[name] = function
        return function
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
