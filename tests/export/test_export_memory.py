"""Exports within the documented 2 GB: the estimate, the refusal before rendering, frames written as
they come (GIF, MP4, APNG), and a full disk during the MP4 and APNG exports."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visualconv import atomic
from visualconv.cli import main
from visualconv.engine.budget import MEMORY_BUDGET_BYTES, estimated_bytes
from visualconv.engine.errors import ModelError
from visualconv.export import api, render, video
from visualconv.modelfile import load_model

from .test_full_disk import FULL, small_disk  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]
SEED_2D = str(ROOT / "sample_models" / "02-seed-2d-conv.json")
GB = 1024**3


def test_the_estimate_counts_the_program_the_pass_the_image_and_the_kept_frames():
    model = load_model(SEED_2D)
    base = 200 * 2**20 + estimated_bytes(model)  # the program's 200 MB, then the model's pass
    # 100 x 50 pixels: 12 bytes a pixel of the image (12 * 5000), 7 kept frames of 2 bytes (7 * 2 * 5000)
    assert api.export_memory(model, 100, 50) == base + 60_000
    assert api.export_memory(model, 100, 50, 7, 2) == base + 60_000 + 70_000
    assert api.export_memory(model, 100, 50, per_pixel=16) == base + 80_000


def test_the_refusal_is_at_the_budget_and_names_the_option():
    model = load_model(SEED_2D)
    need = api.export_memory(model, 1000, 1000, 3, 2)
    api.check_export_memory(model, 1000, 1000, 3, 2, "--steps", budget=need)  # exactly the budget: fine
    with pytest.raises(ModelError) as caught:
        api.check_export_memory(model, 1000, 1000, 3, 2, "--steps", budget=need - 1)
    assert caught.value.place == "--steps"
    assert "1000 x 1000 pixels and 3 frames" in str(caught.value) and "--scale" in str(caught.value)
    # 20000 x 10000 pixels are 2.4 GB at 12 bytes a pixel alone, over the 2 GB
    assert 12 * 20_000 * 10_000 > MEMORY_BUDGET_BYTES
    with pytest.raises(ModelError, match=r"more than the 2\.0 GB visualconv allows"):
        api.check_export_memory(model, 20_000, 10_000)


@pytest.mark.parametrize(
    ("options", "place"),
    [
        (["--out", "big.png", "--scale", "16"], "--scale"),  # 18416 x 12288 pixels
        # 9208 x 6144 pixels: the frame, its palette indices and the 8 frames its palette samples
        (["--animation", "big.gif", "--scale", "8"], "--scale"),
        (["--animation", "big.mp4", "--scale", "4"], "--scale"),  # ffmpeg's frames of 4604 x 3072
    ],
)
def test_an_export_over_the_budget_is_refused_before_any_image_is_made(
    options, place, tmp_path, capsys, monkeypatch
):
    if options[1].endswith(".mp4"):
        pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg is not installed")

    def no_image(*args, **kwargs):
        raise AssertionError("an image was rendered before the refusal")

    monkeypatch.setattr(render, "figure_image", no_image)
    monkeypatch.chdir(tmp_path)
    assert main(["export", SEED_2D, "--layer", "0", "--pass", "backward", *options]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"visualconv: {SEED_2D}: {place}: this export would need")
    assert list(tmp_path.iterdir()) == []


def _frames(n: int, taken: list[int]):
    """n distinct 6 x 4 RGB frames; ``taken`` counts how many were pulled."""
    for k in range(n):
        taken.append(k)
        frame = np.full((4, 6, 3), 255, dtype=np.uint8)
        frame[k % 4, k % 6] = (k * 40, 0, 255 - k * 40)
        yield frame


def test_apng_frames_are_written_as_they_come_and_decode_exactly(tmp_path):
    taken: list[int] = []
    sizes: list[int] = []

    def watched():
        for k, frame in enumerate(_frames(5, taken)):
            if k >= 3:  # frames 0 and 1 are on disk by now (one frame of look-ahead)
                (tmp,) = [p for p in tmp_path.iterdir() if p.name.startswith(".b.")]
                sizes.append(tmp.stat().st_size)
            yield frame

    video.write_apng(tmp_path / "b.apng", watched(), 300)
    assert sizes[0] > 0 and sizes[1] > sizes[0]
    with Image.open(tmp_path / "b.apng") as im:
        assert im.n_frames == 5
        for k, expected in enumerate(_frames(5, [])):
            im.seek(k)
            assert np.array_equal(np.asarray(im.convert("RGB")), expected), k
            assert im.info["duration"] == (300 if k < 4 else 2500)


def test_mp4_frames_are_piped_as_they_come(tmp_path):
    pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg is not installed")
    taken: list[int] = []
    video.write_mp4(tmp_path / "b.mp4", _frames(4, taken), 500)
    assert taken == [0, 1, 2, 3] and (tmp_path / "b.mp4").stat().st_size > 0


@pytest.mark.parametrize("suffix", [".mp4", ".apng"])
def test_an_injected_full_disk_keeps_the_old_video_and_names_it(suffix, tmp_path, capsys, monkeypatch):
    if suffix == ".mp4":
        pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg is not installed")
    target = tmp_path / f"pass{suffix}"
    options = ["export", SEED_2D, "--steps", "0-2", "--animation", str(target)]
    assert main(options) == 0
    before = target.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    capsys.readouterr()
    assert main([*options[:3], "0-3", *options[4:]]) == 2
    err = capsys.readouterr().err
    assert err == f"visualconv: {target}: {FULL}\n"
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@pytest.mark.parametrize("suffix", [".mp4", ".apng"])
def test_a_real_full_disk_keeps_the_old_video_and_names_it(suffix, small_disk, capsys):  # noqa: F811
    if suffix == ".mp4":
        pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg is not installed")
    folder, fill = small_disk
    target = folder / f"pass{suffix}"
    options = ["export", SEED_2D, "--steps", "0-2", "--animation", str(target)]
    assert main(options) == 0
    before = target.read_bytes()
    fill()
    capsys.readouterr()
    assert main([*options[:3], "0-3", *options[4:]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"visualconv: {target}: could not write: ")
    assert err.endswith("(the old file is unchanged)\n")
    assert target.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["filler", target.name]


def test_an_animation_still_matches_its_snapshots(tmp_path):
    """Streaming changed where frames live, not what they are: APNG frame k is step k's PNG."""
    model = load_model(SEED_2D)
    (path,) = api.export_animation(model, 0, "backward", tmp_path / "b.apng", steps="0,5,16")
    with Image.open(path) as im:
        for i, k in enumerate((0, 5, 16)):
            im.seek(i)
            with Image.open(io.BytesIO(api.snapshot_bytes(model, 0, "backward", k, ".png"))) as png:
                assert np.array_equal(np.asarray(im.convert("RGB")), np.asarray(png.convert("RGB"))), k
