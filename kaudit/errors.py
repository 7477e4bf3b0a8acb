"""Errors that end a run with a clear one-line message and a distinct exit code."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FINDINGS = 1  # findings at or above --fail-on
    USAGE = 2  # bad flags, bad input files, bad configuration
    CLUSTER = 3  # cannot reach or authenticate to the cluster
    INCOMPLETE = (
        4  # the audit ran, but some kinds could not be collected (see --fail-on-incomplete)
    )
    # An unexpected exception: a bug in kaudit, never confused with findings or bad input
    # (70 is EX_SOFTWARE in sysexits.h).
    CRASH = 70


class KauditError(Exception):
    """Base class: `str(error)` is the one line shown to the user."""

    exit_code: ExitCode = ExitCode.USAGE


class InputError(KauditError):
    """Bad input: a manifest that does not parse, a file that does not exist, a bad flag value."""

    exit_code = ExitCode.USAGE


class ClusterError(KauditError):
    """The cluster cannot be reached, or rejects our credentials."""

    exit_code = ExitCode.CLUSTER
