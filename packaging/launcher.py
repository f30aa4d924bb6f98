"""Entry point of the frozen app: the same ``main`` as the ``scan-viewer`` console script."""

import multiprocessing
import sys

if __name__ == "__main__":
    # A child spawned by viewer/services/mesh_process.py starts this executable again: this runs
    # its task and exits instead of opening a second window.
    multiprocessing.freeze_support()
    from viewer.app import main

    sys.exit(main())
