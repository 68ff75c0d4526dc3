"""Calls a component's function with the values of its ExecutorInput and writes its ExecutorOutput, as kfp's executor does."""

import inspect
import json
import os

from kfp import dsl


def _is_artifact_class(t):
    return inspect.isclass(t) and issubclass(t, dsl.Artifact)


def _artifact_class(t):
    if _is_artifact_class(t):
        return t
    title = t if isinstance(t, str) else getattr(t, '__name__', '')
    for cls in (dsl.Model, dsl.Dataset, dsl.Metrics, dsl.ClassificationMetrics, dsl.SlicedClassificationMetrics, dsl.HTML,
                dsl.Markdown):
        if title in (cls.__name__, cls.schema_title):
            return cls
    return dsl.Artifact


def _origin_args(t):
    return getattr(t, '__origin__', None), getattr(t, '__args__', ()) or ()


class Executor:
    def __init__(self, executor_input, function_to_execute):
        self._input = executor_input
        self._func = getattr(function_to_execute, 'python_func', function_to_execute)
        self._inputs = executor_input.get('inputs', {}) or {}
        self._outputs = executor_input.get('outputs', {}) or {}
        self._output_artifacts = {}
        self._parameter_values = {}

    # ---- inputs ----

    def _artifacts_in(self, name):
        return (self._inputs.get('artifacts', {}).get(name, {}) or {}).get('artifacts', []) or []

    def _make_artifact(self, cls, spec):
        a = cls(name=spec.get('name'), uri=spec.get('uri'), metadata=spec.get('metadata'))
        return a

    def _input_artifact(self, name, cls):
        found = self._artifacts_in(name)
        if not found:
            return None
        return self._make_artifact(cls, found[0])

    def _output_artifact(self, name, cls):
        spec = ((self._outputs.get('artifacts', {}).get(name, {}) or {}).get('artifacts', []) or [{}])[0]
        a = self._make_artifact(cls, spec)
        os.makedirs(os.path.dirname(a.path), exist_ok=True)
        self._output_artifacts[name] = a
        return a

    def _parameter(self, name, annotation, default):
        values = self._inputs.get('parameterValues', {}) or {}
        if name not in values:
            return default
        value = values[name]
        if annotation is int and isinstance(value, float):
            return int(value)
        if annotation is float and isinstance(value, int):
            return float(value)
        return value

    def _output_file(self, name):
        spec = self._outputs.get('parameters', {}).get(name)
        if spec is None:
            return None
        path = spec['outputFile']
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def _arguments(self):
        kwargs = {}
        for name, param in inspect.signature(self._func).parameters.items():
            ann = param.annotation
            default = None if param.default is inspect.Parameter.empty else param.default
            if isinstance(ann, dsl._IO):
                origin, args = _origin_args(ann.type)
                is_list = origin in (list,) or getattr(origin, '__name__', '') == 'List'
                cls = _artifact_class(args[0] if is_list and args else ann.type)
                if ann.direction == 'output':
                    kwargs[name] = self._output_artifact(name, cls)
                elif is_list:
                    kwargs[name] = [self._make_artifact(cls, a) for a in self._artifacts_in(name)]
                else:
                    kwargs[name] = self._input_artifact(name, cls)
            elif isinstance(ann, dsl.OutputPath):
                path = self._output_file(name)
                if path is None:
                    path = self._output_artifact(name, _artifact_class(ann.type)).path
                kwargs[name] = path
            elif isinstance(ann, dsl.InputPath):
                a = self._input_artifact(name, _artifact_class(ann.type))
                kwargs[name] = a.path if a is not None else default
            elif ann is dsl.PipelineTaskFinalStatus:
                v = (self._inputs.get('parameterValues', {}) or {}).get(name) or {}
                error = v.get('error', {}) or {}
                kwargs[name] = dsl.PipelineTaskFinalStatus(
                    state=v.get('state'), pipeline_job_resource_name=v.get('pipelineJobResourceName'),
                    pipeline_task_name=v.get('pipelineTaskName'), error_code=error.get('code'), error_message=error.get('message'))
            elif _is_artifact_class(ann):
                kwargs[name] = self._input_artifact(name, ann)
            else:
                kwargs[name] = self._parameter(name, ann, default)
        return kwargs

    # ---- outputs ----

    def _set_output(self, name, value, annotation=None):
        if isinstance(value, dsl.Artifact) or _is_artifact_class(annotation):
            return
        self._parameter_values[name] = value

    def _returned(self, result):
        ann = inspect.signature(self._func).return_annotation
        if result is None or ann is None:
            return
        fields = getattr(ann, '_fields', None) or getattr(type(result), '_fields', None)
        if fields:
            hints = getattr(ann, '__annotations__', {}) or {}
            for field, value in zip(fields, result):
                self._set_output(field, value, hints.get(field))
        else:
            self._set_output('Output', result, ann)

    def _write(self):
        out = {}
        if self._parameter_values:
            out['parameterValues'] = self._parameter_values
        if self._output_artifacts:
            out['artifacts'] = {
                name: {'artifacts': [{'name': a.name or name, 'uri': a.uri, 'metadata': a.metadata}]}
                for name, a in self._output_artifacts.items()}
        path = self._outputs.get('outputFile')
        if path:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                json.dump(out, f)
        return out

    def execute(self):
        result = self._func(**self._arguments())
        self._returned(result)
        return self._write()
