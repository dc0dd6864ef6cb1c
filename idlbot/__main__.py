from idlbot.cli import main
import sys

sys.exit(main())
