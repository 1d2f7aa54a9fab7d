"""`make fuzz`: at least 1,000,000 inputs per parser; prints counts, throughput and crashes.

    .venv/bin/python tools/fuzz.py [--inputs N] [--targets stun,rtp,...] [--atheris]

The engine and the harnesses live in tests/fuzzing.py and tests/fuzz_targets.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fuzzing import main

if __name__ == "__main__":
    sys.exit(main())
