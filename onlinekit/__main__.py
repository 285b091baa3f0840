"""``python -m onlinekit`` runs the command-line interface (the same as ``onlinekit``)."""

from onlinekit.cli import main

if __name__ == "__main__":
    main()
