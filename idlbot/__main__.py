import sys

from idlbot.cli import main

sys.exit(main())
