"""The build's one step beyond pyproject.toml: the web apps' files go into the sdist and the wheel.

``server/web/files.py`` says which files make the canvasser app and the
coordinator pages (its own files and the vendor files it needs from npm);
this file copies exactly those: into the sdist at their checkout paths
(``mobile-shell/...``, ``server/web/static/...``), into the wheel at their package
paths (``server/mobile-shell/...``, ``server/web/static/...``).  Where vendor files
are missing (a checkout before ``npm ci``), the build runs ``npm ci`` first,
so npm is needed to build from a checkout, never to build from the sdist
(it carries the vendor files) and never to install the wheel.

An editable install (``pip install -e``, as ``scripts/bootstrap`` does)
copies nothing: the server reads the checkout's own folders.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.errors import SetupError

HERE = Path(__file__).resolve().parent


def _webfiles():
    """server/web/files.py by its path: importing the package would import Flask, not installed at build time."""
    spec = importlib.util.spec_from_file_location("blockwalk_webfiles", HERE / "server" / "web" / "files.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


webfiles = _webfiles()


def _complete(app) -> None:
    """Run npm ci for ``app`` if a vendor file it needs is missing; fail the build if it still is."""
    folder = HERE / app.source
    if not webfiles.missing(app, folder):
        return
    npm = shutil.which("npm")
    if npm is None or not (folder / "package-lock.json").is_file():
        raise SetupError(f"{app.name} lacks {', '.join(webfiles.missing(app, folder))} in {folder}, and npm "
                         "(Node 20) is needed to fetch them: install npm, or run scripts/bootstrap first")
    print(f"running npm ci in {folder} (the vendor files of {app.name})")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, check=True)
    gaps = webfiles.missing(app, folder)
    if gaps:
        raise SetupError(f"{app.name} still lacks {', '.join(gaps)} after npm ci in {folder}")


def _copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for app in webfiles.APPS:
            _complete(app)
            target = Path(self.build_lib) / app.packaged
            shutil.rmtree(target, ignore_errors=True)  # no file of an earlier build (in build/) outlives its source
            for name, path in webfiles.files(app, HERE / app.source).items():
                _copy(path, target / name)


class Sdist(sdist):
    def make_release_tree(self, base_dir, files) -> None:
        super().make_release_tree(base_dir, files)
        for app in webfiles.APPS:
            _complete(app)
            folder = HERE / app.source
            carried = dict(webfiles.files(app, folder))
            carried.update({name: folder / name for name in webfiles.NPM_FILES if (folder / name).is_file()})
            for name, path in carried.items():
                dest = Path(base_dir) / app.source / name
                if dest.exists():  # a hard link made by the base class: replace it, never write through it
                    dest.unlink()
                _copy(path, dest)


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
