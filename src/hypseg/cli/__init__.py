"""Command line: one thin command per job."""


def main() -> None:
    from hypseg._malloc import keep_freed_memory
    from hypseg.cli.app import app

    keep_freed_memory()  # the process is ours: keep freed blocks rather than fault fresh pages in (hypseg._malloc)
    app()
