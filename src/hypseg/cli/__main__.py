"""``python -m hypseg.cli`` (what torchrun launches): the hypseg command line."""

from hypseg.cli import main

if __name__ == "__main__":
    main()
