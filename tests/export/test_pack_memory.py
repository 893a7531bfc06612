"""The lecture pack within the 2 GB: its peak estimated and refused before any work, its GIF, MP4
and APNG written as the steps are rendered (read back by Pillow and imageio), a full disk during a
pack leaving the old pack byte-identical."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visualconv import atomic
from visualconv.cli import main
from visualconv.engine.budget import estimated_bytes
from visualconv.engine.errors import ModelError
from visualconv.export import animation, api, pack, render, snapshot_bytes
from visualconv.modelfile import load_model

from .test_full_disk import FULL, small_disk, written_files  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]
SEED_1D = str(ROOT / "sample_models" / "01-seed-1d-conv.json")
SEED_2D = str(ROOT / "sample_models" / "02-seed-2d-conv.json")
NAME = "layer-0-conv-backward"


def _no_image(*args, **kwargs):
    raise AssertionError("an image was rendered before the refusal")


def test_a_pack_over_the_budget_is_refused_before_any_image_or_folder(tmp_path, capsys, monkeypatch):
    """--scale 8: the backward pass's frames are 9208 x 6144 pixels, 3.8 GB with their palette samples."""
    monkeypatch.setattr(render, "figure_image", _no_image)
    monkeypatch.chdir(tmp_path)
    assert main(["export", SEED_2D, "--pack", "p", "--scale", "8"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"visualconv: {SEED_2D}: --scale: the lecture pack would need about "), err
    assert (
        f"for {Path('p') / 'layer-0-conv-backward.gif'} (17 steps, images of 9208 x 6144 pixels)" in err
        and "more than the 2.0 GB" in err
    )
    assert list(tmp_path.iterdir()) == []


def test_the_estimate_is_the_program_the_model_and_the_frame_being_written(tmp_path):
    """An APNG-only pass: 16 bytes a pixel of the one frame being written, nothing kept."""
    model = load_model(SEED_2D)
    plan = pack.plan_pack(model, [0], ["backward"], "0-2")
    image = render.figure_image(api.snapshot_figure(model, 0, "backward", 0), 0.75)
    pixels = image.width() * image.height()  # the size a frame is rendered at, measured on a real one
    need = pack.check_pack_memory(model, plan, tmp_path, {"apng"}, 0.75)
    assert need == 200 * 2**20 + estimated_bytes(model) + 16 * pixels
    pack.check_pack_memory(model, plan, tmp_path, {"apng"}, 0.75, budget=need)  # exactly the budget: fine
    with pytest.raises(ModelError) as caught:
        pack.check_pack_memory(model, plan, tmp_path, {"apng"}, 0.75, budget=need - 1)
    assert caught.value.place == "--scale"
    assert str(tmp_path / f"{NAME}.apng") in caught.value.message
    assert f"3 steps, images of {image.width()} x {image.height()} pixels" in caught.value.message


def test_slides_kept_for_a_deck_are_refused_at_steps(tmp_path, capsys, monkeypatch):
    """Only decks: the kept slides weigh most, so the place is --steps and the file the deck."""
    monkeypatch.setattr(render, "figure_image", _no_image)
    monkeypatch.setattr(pack, "MEMORY_BUDGET_BYTES", 1)  # an injected budget
    target = tmp_path / "p"
    status = main(
        ["export", SEED_2D, "--pack", str(target), "--passes", "backward", "--pack-formats", "pptx"]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"visualconv: {SEED_2D}: --steps: the lecture pack"), err
    assert f"for {target / (NAME + '.pptx')} (17 steps," in err
    assert not target.exists()


def _nearest(rgb: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Each pixel's nearest palette colour (first on ties)."""
    codes = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    unique, inverse = np.unique(codes.ravel(), return_inverse=True)
    colours = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], axis=1)
    distance = ((colours[:, None, :] - palette[None, :, :].astype(np.int64)) ** 2).sum(axis=2)
    return palette[np.argmin(distance, axis=1)][inverse].reshape(rgb.shape)


def test_the_pack_writes_its_animations_as_the_steps_come_and_they_read_back(tmp_path):
    formats = ["gif", "apng"]
    try:
        import imageio_ffmpeg

        formats.append("mp4")
    except ImportError:
        imageio_ffmpeg = None
    model = load_model(SEED_2D)
    target = tmp_path / "p"
    sizes: dict[int, dict[str, int]] = {}

    def watch(done, total):
        if done in (3, 6):  # the temporary files beside the pack's animations, while it renders
            found = {p.suffix: p.stat().st_size for p in target.iterdir() if p.name.startswith(f".{NAME}.")}
            sizes[done] = found

    pack.export_pack(model, target, watch, layers=[0], passes=["backward"], steps="0-8", formats=formats)
    for suffix in (".gif", ".apng"):
        assert 0 < sizes[3][suffix] < sizes[6][suffix], (suffix, sizes)  # frames are on disk already
    with Image.open(target / f"{NAME}.apng") as apng, Image.open(target / f"{NAME}.gif") as gif:
        assert apng.n_frames == gif.n_frames == 9
        palette = np.asarray(gif.getpalette()[: 3 * 255], dtype=np.int64).reshape(-1, 3)
        exact = []
        for k in range(9):
            apng.seek(k)
            gif.seek(k)
            frame = np.asarray(apng.convert("RGB"))
            exact.append(frame)
            with Image.open(io.BytesIO(snapshot_bytes(model, 0, "backward", k, ".png", 0.75))) as png:
                assert np.array_equal(frame, np.asarray(png.convert("RGB"))), k  # step k, lossless
            assert np.array_equal(np.asarray(gif.convert("RGB")), _nearest(frame, palette)), k
            assert gif.info["duration"] == (900 if k < 8 else 2500)
    if imageio_ffmpeg is not None:
        from visualconv.export.video import mp4_frame_count

        from .test_lecture_formats import _mp4_frames  # decoded by imageio-ffmpeg's ffmpeg

        frames = _mp4_frames(target / f"{NAME}.mp4")
        assert len(frames) == mp4_frame_count(9)
        h, w = exact[0].shape[:2]
        assert frames[0].shape == (h + h % 2, w + w % 2, 3)
        for k in (0, 4, 8):
            error = np.abs(frames[k][:h, :w].astype(int) - exact[k].astype(int)).mean()
            assert error < 4, (k, error)  # H.264 is lossy; a wrong frame differs by far more


def test_a_gif_stream_stores_changed_rectangles_and_merges_repeated_frames(tmp_path):
    rng = np.random.default_rng(3)
    base = rng.integers(0, 255, (20, 30)).astype(np.uint8)
    frames = []
    for k in range(5):
        frame = base.copy()
        frame[k : k + 3, 2 * k : 2 * k + 4] = (40 * k + 7) % 255
        frames.append(frame)
    frames.insert(3, frames[2].copy())  # shown twice as long
    palette = [int(v) for v in rng.integers(0, 256, 3 * 255)]
    with animation.GifStream(tmp_path / "a.gif", animation.PaletteMapper(palette), 300) as stream:
        for frame in frames:
            stream.add(frame)
    colours = np.asarray([*palette, 255, 255, 255], dtype=np.uint8).reshape(-1, 3)
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 5 and gif.info["loop"] == 0
        for i, k in enumerate((0, 1, 2, 4, 5)):
            gif.seek(i)
            assert np.array_equal(np.asarray(gif.convert("RGB")), colours[frames[k]]), i
            assert gif.info["duration"] == (300, 300, 600, 300, 2500)[i]
    assert (tmp_path / "a.gif").stat().st_size < 2 * 800 + 20 * 30 * 2  # later frames store rectangles


def _pack(folder: Path, formats: str) -> list[str]:
    return ["export", SEED_1D, "--pack", str(folder), "--pack-formats", formats]


STREAMED = ["png,gif,apng,mp4", "gif,apng,mp4"]  # without PNGs, the first write to fail is a stream's


@pytest.mark.parametrize("formats", STREAMED)
def test_an_injected_full_disk_during_a_pack_keeps_the_old_pack(formats, tmp_path, capsys, monkeypatch):
    pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg is not installed")
    target = tmp_path / "p"
    assert main(_pack(target, formats)) == 0
    before = written_files(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    capsys.readouterr()
    assert main([*_pack(target, formats), "--steps", "0-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith(f": {FULL}\n"), err
    assert Path(err[len("visualconv: ") : err.index(": could not write")]).is_relative_to(target), err
    assert written_files(tmp_path) == before


@pytest.mark.parametrize("formats", STREAMED)
def test_a_real_full_disk_during_a_pack_keeps_the_old_pack(formats, small_disk, capsys):  # noqa: F811
    pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg is not installed")
    folder, fill = small_disk
    target = folder / "p"
    assert main(_pack(target, formats)) == 0
    fill()
    before = written_files(folder)
    capsys.readouterr()
    assert main([*_pack(target, formats), "--steps", "0-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("visualconv: ") and "could not write: " in err, err
    assert Path(err[len("visualconv: ") : err.index(": could not write")]).is_relative_to(target), err
    assert written_files(folder) == before
