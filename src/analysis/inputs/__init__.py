"""Reading and checking what users bring, and writing it as a data folder.

The official village frame, village codes, the Ministry's IDM workbooks and records, Indeks Desa
files, registries, crosswalks and covariates, validated against the contracts
(:mod:`analysis.schema`) and written as a data folder; plus the synthetic example.

Imports only the shared core (``schema``, ``design``, ``errors``, ``paths``, ``files``), never
:mod:`analysis.methods`, :mod:`analysis.report` or :mod:`analysis.batch`.
"""
