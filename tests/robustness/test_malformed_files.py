"""Every malformed model file: exit status 2 and one line naming the file and the place.

The corpus (tests/robustness/corpus.py) covers bad encodings, bad JSON, non-finite
numbers, wrong keys and types, bad integers, layer-to-layer mismatches, a backward
pass that cannot start, absurd sizes and very deep nesting. Most cases run
``visualconv grad`` in-process; a handful run the real command in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from visualconv import ModelError, load_model
from visualconv.cli import main
from visualconv.modelfile import INTERNAL_ERROR, MAX_FILE_BYTES

from .corpus import CASES, ONE_D, text

IDS = [name for name, _, _ in CASES]


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_bytes(content)
    return path


def _assert_one_placed_line(code: int, out: str, err: str, path: Path, place: str) -> None:
    assert code == 2, f"exit status {code}, stderr {err!r}"
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("visualconv: ")
    assert str(path) in line
    assert place in line, f"{place!r} not named in {line!r}"
    assert "expected" in line
    assert INTERNAL_ERROR not in line and "unexpected error" not in line


def test_the_corpus_names_are_unique() -> None:
    assert len(set(IDS)) == len(IDS)
    assert len(CASES) >= 150


@pytest.mark.parametrize(("name", "content", "place"), CASES, ids=IDS)
def test_grad_refuses_a_malformed_file(tmp_path, capsys, name, content, place) -> None:
    path = _write(tmp_path, name, content)
    code = main(["grad", str(path)])
    out, err = capsys.readouterr()
    _assert_one_placed_line(code, out, err, path, place)


@pytest.mark.parametrize(("name", "content", "place"), CASES, ids=IDS)
def test_load_model_raises_only_model_error(tmp_path, name, content, place) -> None:
    path = _write(tmp_path, name, content)
    with pytest.raises(ModelError) as info:
        load_model(path)
    error = info.value
    assert error.file == str(path)
    assert place in error.place or (place == "" and not error.place) or place in str(error)
    assert "\n" not in str(error)


def test_the_brief_example_reads_as_documented(tmp_path, capsys) -> None:
    document = {**ONE_D, "layers": [{"type": "conv", "weight": [0.3, 0.5], "stride": -1}]}
    path = _write(tmp_path, "stride", text(document))
    assert main(["grad", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"visualconv: {path}: layers[0].stride: expected a positive integer or a pair of positive "
        "integers, got -1\n"
    )


def test_a_directory_a_missing_file_and_a_huge_file(tmp_path, capsys) -> None:
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as handle:  # sparse: no disk space used
        handle.truncate(MAX_FILE_BYTES + 1)
    for path, words in (
        (tmp_path, "directory"),
        (tmp_path / "missing.json", "No such file"),
        (huge, "at most 64.0 MB"),
    ):
        code = main(["grad", str(path)])
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and str(path) in err and words in err
        assert "Traceback" not in err


def test_a_file_of_too_many_lists_is_refused_before_parsing(tmp_path, capsys) -> None:
    body = ",".join(["[0]"] * 4_100_000)
    path = _write(tmp_path, "lists", f'{{"format": "visualconv/1", "input": [{body}]}}'.encode())
    assert main(["grad", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lists and objects" in err


def test_a_file_name_with_a_newline_still_gives_one_line(tmp_path, capsys) -> None:
    path = _write(tmp_path, "two\nlines", b"[]")
    assert main(["grad", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "two\\nlines" in err


def test_grad_without_a_backward_start_names_the_place(tmp_path, capsys) -> None:
    path = _write(tmp_path, "forward-only", text({k: v for k, v in ONE_D.items() if k != "upstream"}))
    assert main(["grad", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: upstream: " in err and "expected" in err


def test_values_that_overflow_float64_are_an_error_not_inf(tmp_path, capsys) -> None:
    document = {
        **ONE_D,
        "input": [1e300, 1e300, 1e300],
        "layers": [{"type": "conv", "weight": [1e300, 1e300]}],
    }
    path = _write(tmp_path, "overflow", text(document))
    assert main(["grad", str(path), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and f"{path}: layers[0]: " in err and "overflows" in err


def test_usage_errors_are_one_line_too(capsys) -> None:
    for argv in (["grad"], ["grad", "a.json", "--bogus"], ["steps", "a.json", "--layer", "x"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path, capsys) -> None:
    path = _write(tmp_path, "empty", b"")
    assert main(["grad", str(path), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().splitlines()[-1].startswith(f"visualconv: {path}: ")


SUBPROCESS_CASES = [
    "deep-nesting-lists",
    "truncated",
    "utf16-bom",
    "nan-token",
    "padding-1e9",
    "channel-mismatch",
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "visualconv", *args], capture_output=True, text=True, timeout=60, env=env
    )


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_the_real_command(tmp_path, name) -> None:
    _, content, place = next(case for case in CASES if case[0] == name)
    path = _write(tmp_path, name, content)
    result = _run("grad", str(path))
    _assert_one_placed_line(result.returncode, result.stdout, result.stderr, path, place)


def test_the_real_command_on_a_directory(tmp_path) -> None:
    result = _run("grad", str(tmp_path))
    assert result.returncode == 2 and result.stdout == ""
    assert (
        result.stderr.count("\n") == 1 and "directory" in result.stderr and "Traceback" not in result.stderr
    )


def test_an_ascii_only_stderr_still_gets_one_line(tmp_path) -> None:
    path = _write(tmp_path, "Faltung-über-Zeit", text({**ONE_D, "name": "é", "dims": 3}))
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    result = subprocess.run(
        [sys.executable, "-m", "visualconv", "grad", str(path)], capture_output=True, timeout=60, env=env
    )
    err = result.stderr.decode("ascii")
    assert result.returncode == 2 and err.count("\n") == 1
    assert "Faltung-\\xfcber-Zeit.json: dims: expected 1 or 2" in err and "Traceback" not in err
