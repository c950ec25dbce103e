"""`make run`: the main job on embedded defaults. Until the server lands: check the examples."""

from __future__ import annotations

import glob

from signalbox.cli.main import main

if __name__ == "__main__":
    main(["check", *sorted(glob.glob("examples/plans/*.json")), "--env", "dev",
          "--policy", "examples/signalbox.toml"])
