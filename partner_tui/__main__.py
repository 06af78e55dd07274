import sys

from partner_tui.cli import main

sys.exit(main())
