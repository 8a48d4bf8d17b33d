"""Command line: one thin command per job (filled in by later issues)."""


def main() -> None:
    from hypseg.cli.app import app

    app()
