"""Many districts at once: the batch stage.

The papermill runner, its executors (local processes or Dask), report kernels forked from a
template, per-district data slices and the run's state on disk.

The only stage that may import every other one.
"""
