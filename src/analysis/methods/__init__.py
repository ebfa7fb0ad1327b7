"""The estimators of the package.

The estimators: pure functions of a panel and a :class:`~analysis.design.Design`, returning frozen
results built by keyword (:mod:`analysis.methods.results`).

Imports only the shared core, never :mod:`analysis.inputs`, :mod:`analysis.report` or
:mod:`analysis.batch`.
"""
