"""Build hook: ship the top-level ``plugins/`` folder inside the package as ``mendcrm/_plugins``.

Everything else about the build is in pyproject.toml. The first-party plugins live outside the
package in the source tree (they are loaded by file path, never imported as ``plugins``); the
wheel carries them as package data so an installed MendCRM finds them beside its own code.
``[tool.setuptools.package-dir]`` cannot do this while packages are found automatically, hence
this small ``build_py`` step.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithPlugins(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "mendcrm" / "_plugins"
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted(Path("plugins").glob("*.py")):
            shutil.copyfile(source, target / source.name)


setup(cmdclass={"build_py": BuildWithPlugins})
