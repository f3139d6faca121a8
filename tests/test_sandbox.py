"""An exercise's own code runs guarded: whatever it does is one line naming the module."""

from __future__ import annotations

import signal
import sys
import time

import numpy as np
import pytest
import sympy as sp

from answerkey import sandbox
from answerkey.errors import AuthoringError, ModuleError, UsageError


def run(fn: object, seconds: float | None = None) -> None:
    with sandbox.guarded("solutions/m.py", "build()", seconds):
        fn()  # type: ignore[operator]


@pytest.mark.parametrize("code", [0, 3, None, "bye"])
def test_an_exit_is_an_error_naming_the_module_never_the_tools_exit(code: object) -> None:
    with pytest.raises(ModuleError, match=r"^solutions/m.py: build\(\) called sys.exit") as err:
        run(lambda: sys.exit(code))
    assert err.value.exit_code == 1


def test_an_exception_is_one_line_naming_the_module_the_authors_line_and_the_exception() -> None:
    with pytest.raises(ModuleError) as err:
        run(lambda: 1 / 0)
    line = err.value.__cause__.__traceback__.tb_next.tb_next.tb_frame.f_lineno  # type: ignore[union-attr]
    assert str(err.value) == (
        "solutions/m.py: build() failed: ZeroDivisionError: division by zero "
        f"(at tests/test_sandbox.py:{line})"
    )


def test_the_authors_line_is_the_innermost_frame_outside_the_engine_and_libraries() -> None:
    def author() -> None:
        np.linalg.inv(np.zeros((2, 2)))  # raised inside NumPy: the author's call is named

    with pytest.raises(np.linalg.LinAlgError) as err:
        author()
    assert (
        sandbox.author_line(err.value)
        == f"tests/test_sandbox.py:{author.__code__.co_firstlineno + 1}"
    )
    assert sandbox.author_line(ValueError("never raised")) is None


def test_an_authoring_error_from_the_kit_gains_the_authors_line() -> None:
    from answerkey import worked

    def author() -> None:
        worked.entry(sp.MatrixSymbol("W", 2, 3), 1)  # a matrix's entry needs (i, j)

    with pytest.raises(AuthoringError) as err:
        run(author)
    line = author.__code__.co_firstlineno + 1
    assert str(err.value).endswith(f" (at tests/test_sandbox.py:{line})")


def test_endless_recursion_blames_the_module_not_the_input() -> None:
    def forever() -> None:
        forever()

    with pytest.raises(ModuleError, match=r"build\(\) recursed too deeply"):
        run(forever)


def test_an_authoring_error_and_ctrl_c_pass_through() -> None:
    def authoring() -> None:
        raise AuthoringError("derive(x): step 2")

    with pytest.raises(
        AuthoringError, match=r"^derive\(x\): step 2 \(at tests/test_sandbox.py:\d+\)$"
    ):
        run(authoring)

    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(interrupt)


def test_a_loop_without_end_is_stopped_at_the_time_limit() -> None:
    def loop() -> None:
        while True:
            pass

    start = time.monotonic()
    with pytest.raises(ModuleError, match=r"did not finish within 0.3 s.*ANSWERKEY_MODULE_SECONDS"):
        run(loop, 0.3)
    assert time.monotonic() - start < 5


def test_a_loop_the_module_catches_exception_in_is_stopped_too() -> None:
    def stubborn() -> None:
        while True:
            try:
                time.sleep(10)
            except Exception:
                pass

    with pytest.raises(ModuleError, match="did not finish"):
        run(stubborn, 0.2)


def test_the_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(sandbox.TIME_VARIABLE, raising=False)
    assert sandbox.time_limit() == sandbox.DEFAULT_SECONDS
    monkeypatch.setenv(sandbox.TIME_VARIABLE, "2.5")
    assert sandbox.time_limit() == 2.5
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv(sandbox.TIME_VARIABLE, bad)
        with pytest.raises(UsageError, match="ANSWERKEY_MODULE_SECONDS must be a number"):
            sandbox.time_limit()


def test_an_enclosing_timer_is_restored_with_the_time_it_has_left() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        with sandbox.deadline(5):
            pass
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 25 < left <= 30
        assert signal.getsignal(signal.SIGALRM) is not None and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_the_running_authors_line_is_where_the_engine_was_called_from() -> None:
    from answerkey import relations

    declared = relations.definition(sp.Symbol("E"), 1)  # the engine records this line
    line = sys._getframe().f_lineno - 1
    assert declared.line == sandbox.caller_line().rsplit(":", 1)[0] + f":{line}"
