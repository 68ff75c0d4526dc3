"""python3 -m kfp.dsl.executor_main: runs one lightweight component's function (Sluice's stand-in, see kfp/__init__.py).

Same arguments as kfp's: --component_module_path FILE --executor_input JSON --function_to_execute NAME.
"""

import argparse
import importlib
import json
import os
import sys

from kfp.dsl import executor


def executor_main():
    parser = argparse.ArgumentParser(description='KFP component executor (Sluice stand-in).')
    parser.add_argument('--component_module_path', type=str, help='path of the module that defines the function')
    parser.add_argument('--function_to_execute', type=str, required=True, help='name of the function to call')
    parser.add_argument('--executor_input', type=str, required=True, help='the ExecutorInput as JSON')
    args, _ = parser.parse_known_args()
    executor_input = json.loads(args.executor_input)
    if args.component_module_path:
        directory, file_name = os.path.split(args.component_module_path)
        module_name, _ = os.path.splitext(file_name)
        sys.path.insert(0, directory)
        module = importlib.import_module(module_name)
    else:
        module = sys.modules['__main__']
    function = getattr(module, args.function_to_execute)
    executor.Executor(executor_input=executor_input, function_to_execute=function).execute()


if __name__ == '__main__':
    executor_main()
