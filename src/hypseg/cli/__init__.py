"""Command line: one thin command per job."""


def main() -> None:
    from hypseg.cli.app import app

    app()
