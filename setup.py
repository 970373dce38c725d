"""Ship the top-level rigs/ folder (declarative rig data) inside the package as emote/_rigs/,
and the neural model in checkpoints/ as emote/checkpoints/.

Everything else about the build is in pyproject.toml; `emote.rigs_data` finds the data
in the installed package, or in <repo>/rigs when running from a source checkout.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_SUFFIXES = {".json", ".toml", ".txt", ".csv"}


class BuildPyWithRigs(build_py):
    def run(self) -> None:
        super().run()
        src = Path(__file__).resolve().parent / "rigs"
        dst = Path(self.build_lib) / "emote" / "_rigs"
        for f in sorted(src.rglob("*")):
            if f.is_file() and f.suffix in DATA_SUFFIXES:
                out = dst / f.relative_to(src)
                self.mkpath(str(out.parent))
                self.copy_file(str(f), str(out))
        # The shipped neural model: emote.engines.neural looks in emote/checkpoints/.
        ckpt = Path(__file__).resolve().parent / "checkpoints"
        for f in sorted(ckpt.glob("*.pt")):
            out = Path(self.build_lib) / "emote" / "checkpoints" / f.name
            self.mkpath(str(out.parent))
            self.copy_file(str(f), str(out))


setup(cmdclass={"build_py": BuildPyWithRigs})
