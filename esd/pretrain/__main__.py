"""``python -m esd.pretrain``: see ``esd.pretrain.cli``."""

import sys

from esd.pretrain.cli import main

sys.exit(main())
