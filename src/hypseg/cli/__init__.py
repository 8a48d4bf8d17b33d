"""Command line: one thin command per job."""


def main() -> None:
    from hypseg._malloc import keep_freed_memory
    from hypseg.cli._errors import Terminated, exit_status, stop_on_sigterm
    from hypseg.cli.app import app

    keep_freed_memory()  # the process is ours: keep freed blocks rather than fault fresh pages in (hypseg._malloc)
    stop_on_sigterm()  # kill PID stops a command as Ctrl+C does
    try:
        app()
    except SystemExit as done:  # Typer ends a command that Ctrl+C (or SIGTERM) stopped with 130
        raise SystemExit(exit_status(done.code)) from None
    except Terminated:
        raise SystemExit(exit_status(130)) from None
