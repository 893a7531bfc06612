"""The session announces only what changed: one signal per changed part, never a half-made state."""

from __future__ import annotations

from helpers import ROOT

from visualconv.app.session import Session
from visualconv.modelfile import load_model

SEED_2D = ROOT / "sample_models" / "02-seed-2d-conv.json"
SIGNALS = ("sigModelChanged", "sigPathChanged", "sigDirtyChanged", "sigTraceChanged", "sigStepChanged")


def record(session):
    """Every signal the session emits, in order, with what the session showed at that moment."""
    heard = []
    for name in SIGNALS:
        getattr(session, name).connect(
            lambda *args, name=name: heard.append((name, session.step, session.trace is not None))
        )
    return heard


def names(heard):
    return [name for name, *_ in heard]


def test_a_step_announces_the_step_only_and_the_same_step_nothing(qtbot):
    session = Session()
    session.set_model(load_model(SEED_2D), str(SEED_2D), pass_name="backward")
    heard = record(session)
    session.next()
    assert names(heard) == ["sigStepChanged"] and heard[0][1] == 1
    heard.clear()
    session.set_step(1)
    session.set_pass("backward")
    session.set_layer(0)
    assert heard == []


def test_a_new_pass_announces_its_trace_then_its_step_with_the_state_complete(qtbot):
    session = Session()
    session.set_model(load_model(SEED_2D), str(SEED_2D), pass_name="forward", step=3)
    heard = record(session)
    session.set_pass("backward")
    assert names(heard) == ["sigTraceChanged", "sigStepChanged"]
    assert all(step == 0 and traced for _, step, traced in heard)  # no signal saw the old step
    assert session.last_changes.trace and not session.last_changes.model


def test_an_edit_announces_model_dirty_trace_and_step_and_saving_only_path_and_dirty(qtbot, tmp_path):
    session = Session()
    model = load_model(SEED_2D)
    session.set_model(model, str(SEED_2D), pass_name="backward", step=2)
    heard = record(session)
    session.replace_model(load_model(SEED_2D))  # an edit: a new value, the same layer, pass and step
    assert names(heard) == ["sigModelChanged", "sigDirtyChanged", "sigTraceChanged", "sigStepChanged"]
    assert session.step == 2 and session.dirty
    heard.clear()
    edited = session.model
    session.replace_model(edited)  # the same value again: announced as an edit, the trace stays
    assert names(heard) == ["sigModelChanged"]
    heard.clear()
    target = tmp_path / "saved.json"
    session.save(target)
    assert names(heard) == ["sigPathChanged", "sigDirtyChanged"]
    heard.clear()
    session.save(target)  # the same file again: nothing changed
    assert heard == []


def test_opening_a_model_again_under_the_same_name_announces_its_file(qtbot):
    session = Session()
    session.set_model(load_model(SEED_2D), str(SEED_2D))
    heard = record(session)
    session.set_model(load_model(SEED_2D), str(SEED_2D))
    assert "sigPathChanged" in names(heard) and "sigDirtyChanged" not in names(heard)
