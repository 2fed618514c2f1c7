"""Ctrl-C is an interrupt (one line, status 130) even when it reaches us wrapped: numba turns a
KeyboardInterrupt that arrives while it loads a kernel from its cache into a SystemError chained
to it (a CI run of test_reliability_cli's Ctrl-C test printed that traceback).  Other errors keep
their traceback."""

import pytest
import signac

from cubemc.cli_errors import EXIT_INTERRUPTED, caused_by_interrupt, run_reporting_errors
from cubemc.workflow.operations import refuse_if_busy


def wrapped_interrupt(*_):
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as stop:
        raise SystemError("<function _numba_unpickle> returned a result with an exception set") from stop


def a_bug(*_):
    raise SystemError("a bug")


def test_a_wrapped_interrupt_is_recognised_through_causes_and_contexts():
    with pytest.raises(SystemError) as caught:
        wrapped_interrupt()
    assert caused_by_interrupt(caught.value)
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("raised while handling it") from None  # context only
    except SystemError as err:
        assert caused_by_interrupt(err)
    try:
        try:
            raise OSError("disk")
        except OSError as cause:
            raise ValueError("bad") from cause
    except ValueError as err:
        assert not caused_by_interrupt(err)
    assert not caused_by_interrupt(SystemError("a bug"))


def test_the_command_line_reports_a_wrapped_interrupt_in_one_line(capsys):
    status = run_reporting_errors("cubemc", wrapped_interrupt, interrupted_hint="run again to continue")
    assert status == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "cubemc: interrupted; run again to continue\n"
    with pytest.raises(SystemError, match="a bug"):
        run_reporting_errors("cubemc", a_bug)


def test_a_workflow_operation_reports_a_wrapped_interrupt_in_one_line(tmp_path, capsys):
    job = signac.init_project(path=str(tmp_path)).open_job({"replica": 0}).init()
    with pytest.raises(SystemExit) as stop:
        refuse_if_busy(wrapped_interrupt)(job)
    assert stop.value.code == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err and "Traceback" not in err, err
    with pytest.raises(SystemError, match="a bug"):
        refuse_if_busy(a_bug)(job)
