"""The ``seawatch`` command line: one click group with a subcommand per job.

:mod:`seawatch.cli.main` holds the group and the ``settings`` command; each larger
command has its own module (``decode``, ``demo``). The CLI is the only place that
configures logging and turns :class:`seawatch.errors.SeawatchError` into exit codes.
"""
