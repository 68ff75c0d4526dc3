"""The part of kfp.dsl a component's code can touch while it runs (see kfp/__init__.py)."""

import os

__all__ = [
    'Artifact', 'ClassificationMetrics', 'Dataset', 'HTML', 'Input', 'InputPath', 'Markdown', 'Metrics', 'Model', 'Output',
    'OutputPath', 'PipelineTaskFinalStatus', 'SlicedClassificationMetrics', 'component', 'container_component', 'pipeline',
    'ContainerSpec', 'Condition', 'If', 'Elif', 'Else', 'ExitHandler', 'ParallelFor', 'Collected', 'OneOf', 'PipelineTask',
    'importer', 'IfPresentPlaceholder', 'ConcatPlaceholder', 'PIPELINE_JOB_NAME_PLACEHOLDER', 'PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER',
    'PIPELINE_JOB_ID_PLACEHOLDER', 'PIPELINE_TASK_NAME_PLACEHOLDER', 'PIPELINE_TASK_ID_PLACEHOLDER', 'PIPELINE_ROOT_PLACEHOLDER',
    'PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER', 'PIPELINE_JOB_SCHEDULE_TIME_UTC_PLACEHOLDER',
]

# The same mapping as Sluice's server: gs://, s3:// and minio:// URIs are files under the objects directory
# ({objects}/BUCKET/KEY); anything else is under {objects}/_local/.
_SCHEMES = ('gs://', 's3://', 'minio://')


def _objects():
    return os.environ.get('SLUICE_KFP_OBJECTS', '/tmp/sluice-kfp-objects')


def _local_path(uri):
    for prefix in _SCHEMES:
        if uri.startswith(prefix):
            parts = [p for p in uri[len(prefix):].split('/') if p not in ('', '.', '..')]
            return os.path.join(_objects(), *parts)
    rest = uri.split('://', 1)[1] if '://' in uri else uri
    return os.path.join(_objects(), '_local', *[p for p in rest.split('/') if p not in ('', '.', '..')])


def _uri_of(path):
    base = _objects().rstrip('/') + '/'
    if path.startswith(base + '_local/'):
        return path[len(base + '_local/'):]
    if path.startswith(base):
        return 'gs://' + path[len(base):]
    return path


class Artifact:
    """An artifact: a name, a URI, metadata, and the local path its URI maps to."""
    schema_title = 'system.Artifact'
    schema_version = '0.0.1'

    def __init__(self, name=None, uri=None, metadata=None):
        self.name = name or ''
        self.uri = uri or ''
        self.metadata = dict(metadata or {})

    @property
    def path(self):
        return _local_path(self.uri)

    @path.setter
    def path(self, path):
        self.uri = _uri_of(path)

    def __repr__(self):
        return '%s(name=%r, uri=%r, metadata=%r)' % (type(self).__name__, self.name, self.uri, self.metadata)


class Model(Artifact):
    schema_title = 'system.Model'

    @property
    def framework(self):
        return self.metadata.get('framework', '')

    @framework.setter
    def framework(self, value):
        self.metadata['framework'] = value


class Dataset(Artifact):
    schema_title = 'system.Dataset'


class HTML(Artifact):
    schema_title = 'system.HTML'


class Markdown(Artifact):
    schema_title = 'system.Markdown'


class Metrics(Artifact):
    schema_title = 'system.Metrics'

    def log_metric(self, metric, value):
        self.metadata[metric] = value


class ClassificationMetrics(Artifact):
    schema_title = 'system.ClassificationMetrics'

    def log_roc_data_point(self, fpr, tpr, threshold):
        self.metadata.setdefault('confidenceMetrics', []).append(
            {'confidenceThreshold': threshold, 'recall': tpr, 'falsePositiveRate': fpr})

    def log_roc_curve(self, fpr, tpr, threshold):
        for f, t, th in zip(fpr, tpr, threshold):
            self.log_roc_data_point(f, t, th)

    def set_confusion_matrix_categories(self, categories):
        self.metadata['confusionMatrix'] = {
            'annotationSpecs': [{'displayName': c} for c in categories],
            'rows': [[0] * len(categories) for _ in categories]}

    def log_confusion_matrix_row(self, row_category, row):
        names = [a['displayName'] for a in self.metadata['confusionMatrix']['annotationSpecs']]
        self.metadata['confusionMatrix']['rows'][names.index(row_category)] = list(row)

    def log_confusion_matrix_cell(self, row_category, col_category, value):
        names = [a['displayName'] for a in self.metadata['confusionMatrix']['annotationSpecs']]
        self.metadata['confusionMatrix']['rows'][names.index(row_category)][names.index(col_category)] = value

    def log_confusion_matrix(self, categories, matrix):
        self.set_confusion_matrix_categories(categories)
        self.metadata['confusionMatrix']['rows'] = [list(r) for r in matrix]


class SlicedClassificationMetrics(Artifact):
    schema_title = 'system.SlicedClassificationMetrics'


class _IO:
    """What Input[T] and Output[T] stand for in a signature: an artifact of type T coming in or going out."""

    def __init__(self, direction, type_):
        self.direction = direction
        self.type = type_


class Input:
    def __class_getitem__(cls, type_):
        return _IO('input', type_)


class Output:
    def __class_getitem__(cls, type_):
        return _IO('output', type_)


class InputPath:
    def __init__(self, type=None):  # noqa: A002 (kfp's own parameter name)
        self.type = type


class OutputPath:
    def __init__(self, type=None):  # noqa: A002
        self.type = type


class PipelineTaskFinalStatus:
    """The final status of the task an exit handler guards."""

    def __init__(self, state, pipeline_job_resource_name, pipeline_task_name, error_code, error_message):
        self.state = state
        self.pipeline_job_resource_name = pipeline_job_resource_name
        self.pipeline_task_name = pipeline_task_name
        self.error_code = error_code
        self.error_message = error_message


def component(func=None, **_):
    """Leaves the function as it is (it runs here; nothing is compiled)."""
    if func is None:
        return lambda f: component(f)
    func.python_func = func
    return func


container_component = component

PIPELINE_JOB_NAME_PLACEHOLDER = '{{$.pipeline_job_name}}'
PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER = '{{$.pipeline_job_resource_name}}'
PIPELINE_JOB_ID_PLACEHOLDER = '{{$.pipeline_job_uuid}}'
PIPELINE_TASK_NAME_PLACEHOLDER = '{{$.pipeline_task_name}}'
PIPELINE_TASK_ID_PLACEHOLDER = '{{$.pipeline_task_uuid}}'
PIPELINE_ROOT_PLACEHOLDER = '{{$.pipeline_root}}'
PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER = '{{$.pipeline_job_create_time_utc}}'
PIPELINE_JOB_SCHEDULE_TIME_UTC_PLACEHOLDER = '{{$.pipeline_job_schedule_time_utc}}'


class _CompileOnly:
    """A pipeline-building name: it exists so that `from kfp.dsl import *` works, but building pipelines is for the real SDK."""

    def __init__(self, name):
        self._name = name

    def __call__(self, *args, **kwargs):
        raise NotImplementedError('kfp.dsl.%s builds pipelines; install the Kubeflow Pipelines SDK for that '
                                  '(Sluice only runs compiled ones)' % self._name)


pipeline = _CompileOnly('pipeline')
ContainerSpec = _CompileOnly('ContainerSpec')
Condition = _CompileOnly('Condition')
If = _CompileOnly('If')
Elif = _CompileOnly('Elif')
Else = _CompileOnly('Else')
ExitHandler = _CompileOnly('ExitHandler')
ParallelFor = _CompileOnly('ParallelFor')
Collected = _CompileOnly('Collected')
OneOf = _CompileOnly('OneOf')
PipelineTask = _CompileOnly('PipelineTask')
importer = _CompileOnly('importer')
IfPresentPlaceholder = _CompileOnly('IfPresentPlaceholder')
ConcatPlaceholder = _CompileOnly('ConcatPlaceholder')
