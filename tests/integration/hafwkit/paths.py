"""Where the repository and the built binaries are.

HAFW_BUILD_DIR (set by ctest for the integration tests) names the build
tree; without it, <source>/build. HAFW_SOURCE_DIR likewise for the source.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

# Where the build puts the generated control API bindings (proto/CMakeLists.txt).
PB2_RELATIVE = Path("proto/python/hafw/control/v1/control_pb2.py")
SOURCE_DIR = Path(os.environ.get("HAFW_SOURCE_DIR") or Path(__file__).resolve().parents[3])


def default_build_dir() -> Path:
    return Path(os.environ.get("HAFW_BUILD_DIR") or SOURCE_DIR / "build")


class MissingBinary(RuntimeError):
    pass


@dataclasses.dataclass(frozen=True)
class HafwPaths:
    """Where the built binaries are: a build directory of this repository."""

    build_dir: Path = dataclasses.field(default_factory=default_build_dir)
    source_dir: Path | None = SOURCE_DIR

    @property
    def ha_agent(self) -> Path:
        return self.build_dir / "haagent" / "ha-agent"

    @property
    def hactl(self) -> Path:
        return self.build_dir / "haagent" / "cli" / "hactl"

    @property
    def control_pb2(self) -> Path:
        return self.build_dir / PB2_RELATIVE

    def require(self, binary: Path) -> Path:
        """Returns the binary; a missing one is an error (tests fail, never skip)."""
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            raise MissingBinary(f"{binary} is not built; build it first "
                                f"(cmake --build {self.build_dir})")
        return binary
