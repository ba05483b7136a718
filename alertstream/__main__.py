import sys

from alertstream.cli import main

sys.exit(main())
