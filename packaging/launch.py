"""PyInstaller's entry script: the same ``main()`` as the installed ``kquant-gui`` command."""

import multiprocessing
import sys

from kquant_gui.gui.app import main

if __name__ == "__main__":
    # A frozen app re-executes itself for each worker process (Windows, macOS spawn); without
    # this call such a child would open a second window instead of running its task.
    multiprocessing.freeze_support()
    sys.exit(main())
