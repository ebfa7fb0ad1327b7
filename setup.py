"""Build hook: ship the notebooks and the data the workspace needs inside the package.

The repository keeps them where researchers look for them (``notebooks/``, ``data/``); a wheel
carries copies under ``analysis/_shipped/`` in the same layout, which :mod:`analysis.paths`
finds with :mod:`importlib.resources` when the package runs installed. The commit the wheel was
built from is recorded beside them (``_shipped/COMMIT``) for ``--version`` and provenance.
Everything else is declared in ``pyproject.toml``.
"""

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: Repository files and folders a run needs, copied as they are.
SHIPPED = ("notebooks", "data/example", "data/real", "data/templates")


class BuildWithShippedFiles(build_py):
    """``build_py`` that also copies :data:`SHIPPED` into ``analysis/_shipped/``."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the checkout and reads the originals
        target = Path(self.build_lib) / "analysis" / "_shipped"
        for rel in SHIPPED:
            src = HERE / rel
            if not src.is_dir():
                continue
            dst = target / rel
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(
                src, dst, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
            )
        try:
            commit = subprocess.run(
                ["git", "-C", str(HERE), "rev-parse", "HEAD"], capture_output=True, text=True
            ).stdout.strip()
        except OSError:  # no git: the version is still known, the commit is not
            commit = ""
        if commit:
            (target / "COMMIT").write_text(commit + "\n", encoding="utf-8")


setup(cmdclass={"build_py": BuildWithShippedFiles})
