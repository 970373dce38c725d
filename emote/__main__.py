import sys

from emote.cli.main import main

sys.exit(main())
