import sys

from tests.load.run import main

sys.exit(main())
