"""The parts of the build that pyproject.toml cannot say: the optional C forwarding module and
the page assets.

- `media._srtp_native` (the C fan-out and SRTP sender) is built when a C compiler, Python's
  headers and OpenSSL's are there. Without them the build goes on and the wheel carries the
  Python forwarding path alone (`py3-none-any`); with it the wheel is tagged for this
  interpreter and platform. `ECOURT_REQUIRE_NATIVE=1` makes a failed C build fail the build.
- The page assets (socket.io-client, hls.js from npm, `tools/build-assets`) go into
  `web/static/vendor/`; a wheel is never built without them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

# web/static and its folders are data of `web`, not packages; setuptools would warn, for each,
# that Python could import it as a namespace package
warnings.filterwarnings("ignore", message=r"Package 'web\.static[\w.]*' is absent")

ROOT = Path(__file__).resolve().parent
VENDOR = ROOT / "web" / "static" / "vendor"
VENDOR_FILES = ("socket.io.min.js", "hls.min.js", "pdf.min.mjs", "pdf.worker.min.mjs")

NATIVE = Extension(
    "media._srtp_native",
    sources=["media/_srtp_native.c", "media/_srtp_native_fanout.c"],
    depends=["media/_srtp_native.h"],
    include_dirs=["media"],
    libraries=["crypto"],
    extra_compile_args=["-O2", "-Wall", "-Wextra"],
)


class OptionalBuildExt(build_ext):
    """Build the C module if this machine can; say so either way, never stop the build."""

    def run(self) -> None:
        self.distribution.native_built = False  # type: ignore[attr-defined]
        try:
            super().run()
        except Exception as exc:  # the compiler's or the linker's failure, or none found
            self._skipped(exc)
        else:
            self.distribution.native_built = True  # type: ignore[attr-defined]

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skipped(exc)
            raise

    def _skipped(self, exc: BaseException) -> None:
        if os.environ.get("ECOURT_REQUIRE_NATIVE") == "1":
            raise SystemExit(f"ecourt: the C fan-out did not build ({exc})") from exc
        print(
            f"ecourt: the C fan-out was not built, the Python one is used ({exc})",
            file=sys.stderr,
        )


class BuildPyWithAssets(build_py):
    """Put the page assets into the build; make them with npm if they are missing."""

    def run(self) -> None:
        if not self.editable_mode and not all((VENDOR / f).is_file() for f in VENDOR_FILES):
            try:
                subprocess.run(["bash", str(ROOT / "tools" / "build-assets")], check=True)
            except (OSError, subprocess.CalledProcessError) as exc:
                raise SystemExit(
                    f"ecourt: the page assets are missing from {VENDOR} and npm could not "
                    f"make them ({exc}); run tools/build-assets"
                ) from exc
        super().run()


class TaggedWheel(bdist_wheel):
    """A platform wheel exactly when the C module is in it."""

    def get_tag(self) -> tuple[str, str, str]:
        if not getattr(self.distribution, "native_built", True):
            self.root_is_pure = True
            return "py3", "none", "any"
        return super().get_tag()  # type: ignore[no-any-return]


setup(
    ext_modules=[NATIVE],
    cmdclass={
        "build_ext": OptionalBuildExt,
        "build_py": BuildPyWithAssets,
        "bdist_wheel": TaggedWheel,
    },
)
