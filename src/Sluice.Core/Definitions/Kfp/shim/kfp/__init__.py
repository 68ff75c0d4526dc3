"""Sluice's stand-in for the kfp package.

This is not the Kubeflow Pipelines SDK. It holds just enough of ``kfp.dsl`` for a KFP lightweight component (a Python
function compiled into a pipeline spec) to run its function on a host where kfp is not installed: the types a
component's signature uses, and ``kfp.dsl.executor_main``, which reads the executor input, calls the function and
writes the executor output the way kfp's own executor does. Sluice puts it on PYTHONPATH for KFP tasks and skips the
``pip install kfp`` preamble of such tasks. Written with Python's standard library only.
"""

__version__ = '2.0.0+sluice'

from kfp import dsl  # noqa: E402,F401
