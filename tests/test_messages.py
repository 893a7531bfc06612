"""Messages a user acts on: hostile text refused or escaped, places, paging, long paths, progress."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from visualconv.cli import main
from visualconv.cli.entry import shorten
from visualconv.engine.errors import ModelError
from visualconv.modelfile import loads

ROOT = Path(__file__).resolve().parents[1]
SEED_1D = ROOT / "sample_models" / "01-seed-1d-conv.json"
SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"


@pytest.fixture(autouse=True)
def _application(qapp):
    """Exports paint text: the test session's QApplication exists before any export runs here."""
    return qapp


def model_text(**changes):
    document = json.loads(SEED_1D.read_text("utf-8"))
    document.update(changes)
    return json.dumps(document)


def write(tmp_path, text, name="model.json"):
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return str(path)


@pytest.mark.parametrize(
    "name, says",
    [
        ("Evil \x1b[31mred", "control character U+001B at character 6"),
        ("bell\x07", "control character U+0007 at character 5"),
        ("two\nlines", "line break U+000A at character 4 (only a description may span lines)"),
        ("del\x7f", "control character U+007F at character 4"),
    ],
)
def test_control_characters_in_the_name_are_refused_at_load_with_the_place(name, says):
    with pytest.raises(ModelError) as caught:
        loads(model_text(name=name))
    assert caught.value.place == "name"
    assert str(caught.value) == f"name: expected text without control characters, got a {says}"


def test_a_description_may_span_lines_but_holds_no_other_control_character():
    assert loads(model_text(description="one\ntwo\tthree\r\n")).description.startswith("one\ntwo")
    with pytest.raises(ModelError, match=r"^description: expected text without control characters"):
        loads(model_text(description="ok\x1b]0;title\x07"))
    with pytest.raises(ModelError, match=r"^layers\[0\]\.activation: expected text without control"):
        document = json.loads(model_text())
        document["layers"][0]["activation"] = "relu\x00"
        loads(json.dumps(document))


def test_grad_writes_a_name_with_format_characters_escaped(tmp_path, capsys):
    """U+202E (right-to-left override) is no control character: it loads, and the terminal sees it escaped."""
    path = write(tmp_path, model_text(name="abc\u202edef"))
    assert main(["grad", path]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("abc\\u202edef  (") and "\u202e" not in first


def test_the_empty_key_is_named_with_a_place(tmp_path, capsys):
    document = json.loads(model_text())
    document["layers"][0][""] = 1
    path = write(tmp_path, json.dumps(document))
    assert main(["grad", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"visualconv: {path}: layers[0][\"\"]: unknown key ''; expected only the keys of")
    document = json.loads(model_text())
    document[""] = 1
    path = write(tmp_path, json.dumps(document))
    assert main(["grad", path]) == 2
    assert capsys.readouterr().err.startswith(f'visualconv: {path}: [""]: unknown key')


def test_a_5000_character_path_is_shortened_in_the_middle_and_the_reason_stays(tmp_path, capsys):
    long = "d" * 5000
    path = f"/{long}/model.json"
    assert main(["grad", path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 400
    assert err.startswith("visualconv: /" + "d" * 79 + "...")
    assert err.rstrip("\n").endswith("d/model.json: cannot read the file: File name too long")


def test_shorten_keeps_the_end_of_any_line():
    line = "visualconv: x: " + " ".join(["word"] * 1000) + " expected the end"
    short = shorten(line, 300)
    assert len(short) <= 300 and short.endswith("expected the end") and " ... " in short


def test_steps_prints_a_bounded_page_and_says_how_to_get_the_next(capsys):
    assert main(["steps", str(SEED_2D), "--limit", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "(steps 0..2 of 0..16 shown; the next page: --from 3; --limit 0 prints every step)"
    assert sum(line.startswith("overlay ") for line in out) == 2  # steps 1 and 2 (step 0 is the start)
    assert main(["steps", str(SEED_2D), "--from", "15", "--limit", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("overlay ")] == [
        line for line in out if line.startswith(("overlay 15:", "overlay 16:"))
    ]
    assert out[-1] == "(steps 15..16 of 0..16 shown; --limit 0 prints every step)"
    assert main(["steps", str(SEED_2D), "--limit", "0"]) == 0
    assert "shown" not in capsys.readouterr().out


def test_steps_pages_a_layer_of_a_million_overlays(tmp_path, capsys):
    document = {
        "format": "visualconv/1",
        "name": "wide",
        "input": [[0.5] * 1_000_001],
        "layers": [{"type": "conv", "weight": [1.0, -1.0]}],
        "upstream": [[0.25] * 1_000_000],
    }
    path = write(tmp_path, json.dumps(document))
    assert main(["steps", path]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (
        "(steps 0..499 of 0..1000000 shown; the next page: --from 500; --limit 0 prints every step)"
    )
    assert len(out) < 3000


FORWARD_ONLY = {
    "format": "visualconv/1",
    "name": "forward only",
    "input": [1, 2, 3],
    "layers": [{"type": "conv", "weight": [0.3, 0.5]}],
}


@pytest.mark.parametrize("command", [["steps"], ["export", "--out", "x.svg"]])
def test_a_forward_only_model_has_no_backward_pass_with_a_place_and_a_hint(tmp_path, capsys, command):
    path = write(tmp_path, json.dumps(FORWARD_ONLY))
    args = [command[0], path, *[str(tmp_path / a) if a.endswith(".svg") else a for a in command[1:]]]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"visualconv: {path}: upstream: the model has no 'upstream' and no 'target'")
    assert "--pass forward" in err and err.count("\n") == 1
    assert main([*args, "--pass", "forward"]) == 0


@pytest.mark.parametrize(
    "options, says",
    [
        (["--out", "{tmp}/x.bmp"], "cannot tell the format from the extension '.bmp'"),
        (["--out", "{tmp}/file/x.png"], "could not write: {tmp}/file is not a folder"),
        (["--layer", "7", "--out", "{tmp}/x.png"], "layer 7: the model has layers 0..0"),
    ],
)
def test_export_errors_are_one_line_with_the_prefix(tmp_path, capsys, options, says):
    (tmp_path / "file").write_text("")
    args = ["export", str(SEED_1D), *[o.format(tmp=tmp_path) for o in options]]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("visualconv: ") and err.count("\n") == 1
    assert says.format(tmp=tmp_path) in err


def test_export_says_which_folders_it_created(tmp_path, capsys):
    assert main(["export", str(SEED_1D), "--out", str(tmp_path / "a" / "b" / "x.svg")]) == 0
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"visualconv: created the folder {tmp_path / 'a'}",
        f"visualconv: created the folder {tmp_path / 'a' / 'b'}",
    ]
    assert main(["export", str(SEED_1D), "--out", str(tmp_path / "a" / "b" / "x.svg")]) == 0
    assert capsys.readouterr().err == ""


def _env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env.update(TMPDIR=str(tmp_path / "tmp"), PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    (tmp_path / "tmp").mkdir()
    return env


def test_a_headless_export_leaves_no_empty_folder_in_the_temp_directory(tmp_path):
    env = _env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "visualconv", "export", str(SEED_1D), "--out", str(tmp_path / "x.png")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / "tmp").iterdir()) == []


def _run_on_a_terminal(args, env):
    """Run with stderr on a pseudo-terminal; returns (stdout, what the terminal showed)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal's size
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the process closed its end
            break
        if not chunk:
            break
        shown += chunk
    out = process.stdout.read()
    process.stdout.close()
    assert process.wait(60) == 0, shown
    os.close(leader)
    return out.decode(), shown.decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_long_headless_runs_show_a_progress_bar_on_a_terminal_and_nothing_when_piped(tmp_path):
    env = _env(tmp_path)
    pack = [sys.executable, "-m", "visualconv", "export", str(SEED_1D), "--pack", str(tmp_path / "pack")]
    out, shown = _run_on_a_terminal(pack, env)
    assert "pack pack:" in shown and "/6 [" in shown and "lecture pack in" in out
    train = [
        sys.executable,
        "-m",
        "visualconv",
        "train",
        str(ROOT / "sample_models" / "21-teacher-sobel.json"),
    ]
    out, shown = _run_on_a_terminal(train, env)
    assert "it/s" in shown or "it]" in shown
    piped = subprocess.run([*pack[:-1], str(tmp_path / "pack2")], env=env, capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stderr == f"visualconv: created the folder {tmp_path / 'pack2'}\n"
    piped = subprocess.run(train, env=env, capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stderr == ""
