# Databricks notebook source
# Publishes a job task value that a Python wheel task saved with
# marvel_mlops.datasets.TaskValueDataset. Databricks documents
# dbutils.jobs.taskValues.set for notebooks only, so this notebook task sits between the
# wheel task and the condition task that reads {{tasks.<this task>.values.<key>}}.
# Parameters (base_parameters): key, path. A missing or mismatched file fails the task.
import json

key = dbutils.widgets.get("key")  # noqa: F821 - provided by the notebook runtime
path = dbutils.widgets.get("path")  # noqa: F821
with open(path) as handle:  # FileNotFoundError fails the task: nothing was published
    stored = json.load(handle)
if stored.get("key") != key:
    raise ValueError(f"{path} holds task value {stored.get('key')!r}, expected {key!r}")
dbutils.jobs.taskValues.set(key=key, value=stored["value"])  # noqa: F821
print(f"Published task value {key}={stored['value']!r} from {path}")
