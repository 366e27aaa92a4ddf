"""Search spaces: parsing, checks against the config schema, and the values a trial draws."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from adaspec.config import resolve_config
from adaspec.errors import UserError
from adaspec.studies.space import (
    DEFAULT_SPACE,
    Dimension,
    apply_params,
    load_space,
    parse_dimension,
    parse_space,
)

BASE = resolve_config(None, ["data.root=/nowhere"])


def test_default_space_is_seed_001s_and_fits_the_schema() -> None:
    dimensions = parse_space(DEFAULT_SPACE, BASE)
    assert [d.key for d in dimensions] == [
        "optim.lr",
        "optim.name",
        "eval.n_parts",
        "augment.enabled",
        "sched.gamma",
    ]
    assert dimensions[0].log and dimensions[0].low == 1e-4 and dimensions[0].high == 0.1
    assert dimensions[3].choices == (False, True)


def test_drawn_values_respect_each_distribution() -> None:
    dimensions = parse_space(DEFAULT_SPACE, BASE)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        params = {d.key: d.suggest(trial) for d in dimensions}
        assert 1e-4 <= params["optim.lr"] <= 0.1
        assert params["optim.name"] in ("adamw", "sgd")
        assert isinstance(params["eval.n_parts"], int) and 4 <= params["eval.n_parts"] <= 16
        assert isinstance(params["augment.enabled"], bool)
        config = apply_params(BASE, params)
        assert (
            config["optim"]["lr"] == params["optim.lr"]
            and config["eval"]["n_parts"] == params["eval.n_parts"]
        )
        study.tell(trial, 0.0)


def test_frontend_keys_can_be_searched() -> None:
    space = {
        "frontend.learn_window": {"type": "bool"},
        "frontend.n_fft": {"type": "categorical", "choices": [512, 1024]},
    }
    assert [d.key for d in parse_space(space, BASE)] == ["frontend.learn_window", "frontend.n_fft"]


@pytest.mark.parametrize(
    "space, message",
    [
        ({"optim.nope": {"type": "float", "low": 0.1, "high": 1.0}}, "optim.nope"),
        ({"frontend.nope": {"type": "bool"}}, "frontend"),
        ({"optim.lr": {"type": "float", "low": 0.1, "high": 0.01}}, "low (0.1) is greater than high (0.01)"),
        ({"optim.lr": {"type": "float", "low": 0.0, "high": 0.1, "log": True}}, "log scale needs low > 0"),
        (
            {"optim.lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True, "step": 0.01}},
            "log and step",
        ),
        ({"optim.lr": {"type": "normal", "low": 0, "high": 1}}, "type must be one of"),
        ({"optim.lr": {"type": "float", "low": 0.001}}, "high is missing"),
        ({"optim.lr": {"type": "float", "low": "a", "high": 1.0}}, "low must be a number"),
        ({"eval.n_parts": {"type": "int", "low": 1.5, "high": 4}}, "low must be an integer"),
        ({"optim.lr": {"type": "float", "low": 0.1, "high": 1.0, "scale": 2}}, "unknown field 'scale'"),
        ({"optim.name": {"type": "categorical", "choices": []}}, "non-empty list"),
        ({"optim.name": {"type": "categorical", "choices": ["adamw", "lion"]}}, "optim.name"),
        ({"eval.n_parts": {"type": "int", "low": 0, "high": 4}}, "eval.n_parts"),
        ({"optim.lr": 0.1}, "expected a mapping"),
        ({}, "non-empty mapping"),
    ],
)
def test_bad_spaces_name_the_problem(space: dict, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_space(space, BASE)


@pytest.mark.parametrize(
    ("key", "choices", "message"),
    [
        ("frontend.name", ["stft", "stft", "mel"], "frontend.name: the choice 'stft' is given twice"),
        ("optim.name", ["adamw", "sgd", "adamw"], "optim.name: the choice 'adamw' is given twice"),
        (
            "trainer.precision",
            [32, "32-true"],
            "trainer.precision: the choices 32 and '32-true' make the same config "
            "(trainer.precision='32-true')",
        ),
        ("optim.lr", [0.1, 1, 1.0], "optim.lr: the choices 1 and 1.0 make the same config (optim.lr=1.0)"),
    ],
)
def test_a_choice_given_twice_is_refused_naming_the_key_and_the_choice(
    key: str, choices: list, message: str
) -> None:
    """Optuna would draw a repeated choice twice as often (and TPE count two choices of one config apart)."""
    with pytest.raises(UserError) as info:
        parse_space({key: {"type": "categorical", "choices": choices}}, BASE)
    assert str(info.value) == f"search space {message}; give each choice once"


def test_choices_of_other_types_are_not_repeats() -> None:
    """``0``, ``false`` and ``0.0`` are equal in Python but not one YAML value (the config may still refuse
    some of them, or find that two make one config)."""
    dimension = parse_dimension("k", {"type": "categorical", "choices": [0, False, 0.0, None, [0]]})
    assert dimension.choices == (0, False, 0.0, None, [0])


def test_space_file_is_read_and_missing_file_named(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text("optim.lr: {type: float, low: 1.0e-4, high: 0.1, log: true}\n")
    (dimension,) = load_space(path, BASE)
    assert dimension == Dimension("optim.lr", "float", low=1e-4, high=0.1, log=True)
    with pytest.raises(UserError, match=r"nothere\.yaml: search space file not found"):
        load_space(tmp_path / "nothere.yaml", BASE)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("optim.lr: [", r"broken\.yaml: cannot parse search space: "),
        ("- optim.lr\n", r"broken\.yaml: a search space must be a mapping of dotted config keys, got list"),
    ],
)
def test_a_broken_space_file_is_called_a_search_space(tmp_path: Path, text: str, message: str) -> None:
    # The messages called it a config ("cannot parse config"), which sent users to the wrong file.
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        load_space(path, BASE)


def test_shipped_space_file_fits_the_shipped_config() -> None:
    root = Path(__file__).resolve().parents[2]
    base = resolve_config(root / "configs" / "gtzan_genre.yaml", ["data.root=/nowhere"])
    keys = [d.key for d in load_space(root / "configs" / "search_space.yaml", base)]
    assert keys[:5] == list(DEFAULT_SPACE) and "frontend.learn_window" in keys


@pytest.mark.parametrize(
    ("base_overrides", "params", "compression"),
    [
        ([], {"frontend.name": "leaf"}, "none"),  # was db: every LEAF trial failed ("already returns log")
        (["frontend.name=leaf"], {"frontend.name": "stft"}, "db"),  # leaving LEAF: the default, not its none
        (["model.compression=log"], {"frontend.name": "cqt"}, "log"),  # the user's choice is kept
        ([], {"frontend.name": "leaf", "model.compression": "none"}, "none"),
    ],
)
def test_a_trial_that_switches_the_front_end_gets_its_compression(
    base_overrides: list[str], params: dict, compression: str
) -> None:
    base = resolve_config(None, ["data.root=/data", *base_overrides])
    assert apply_params(base, params)["model"]["compression"] == compression
