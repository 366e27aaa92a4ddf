"""Config loading, dotted overrides and validation: every error names its key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from adaspec.config import (
    config_differences,
    default_config,
    get_dotted,
    load_config_file,
    loading,
    parse_override,
    resolve_config,
    save_config,
)
from adaspec.errors import ConfigError, UserError

ROOT = ["data.root=/data"]
STABLE_KEYS = (
    "seed",
    "data.root",
    "data.sample_rate",
    "data.clip_seconds",
    "data.batch_size",
    "data.num_workers",
    "eval.n_parts",
    "frontend.name",
    "model.backbone",
    "model.adapter",
    "optim.name",
    "optim.lr",
    "sched.gamma",
    "augment.enabled",
    "trainer.max_epochs",
    "trainer.devices",
    "trainer.strategy",
)


def test_stable_key_paths_exist() -> None:
    config = resolve_config(None, ROOT)
    for key in STABLE_KEYS:
        get_dotted(config, key)


def test_overrides_parse_yaml_values() -> None:
    config = resolve_config(
        None, [*ROOT, "frontend.learn_window=true", "optim.lr=0.01", "data.fractions={train: 0.5, val: 0.5}"]
    )
    assert config["frontend"]["learn_window"] is True
    assert config["optim"]["lr"] == 0.01
    assert config["data"]["fractions"] == {"train": 0.5, "val": 0.5}


def test_int_where_float_expected_becomes_float() -> None:
    assert resolve_config(None, [*ROOT, "optim.lr=1"])["optim"]["lr"] == 1.0
    assert isinstance(resolve_config(None, [*ROOT, "optim.lr=1"])["optim"]["lr"], float)


def test_floats_in_exponent_notation_without_a_dot(tmp_path: Path) -> None:
    """PyYAML (YAML 1.1) reads ``1e-3`` as a string; a learning rate is usually written that way."""
    assert resolve_config(None, [*ROOT, "optim.lr=1e-3"])["optim"]["lr"] == 0.001
    path = tmp_path / "run.yaml"
    path.write_text("optim: {lr: 5E-4, weight_decay: 1e+2}\nmodel: {backbone: name1e5}\n")
    expected = {"optim": {"lr": 0.0005, "weight_decay": 100.0}, "model": {"backbone": "name1e5"}}
    assert load_config_file(path) == expected


def test_text_that_yaml_reads_as_a_number_gets_a_hint() -> None:
    with pytest.raises(ConfigError, match=r"data.root.*got 1000.0 \(float\); .* quote it to keep it as text"):
        resolve_config(None, ["data.root=1e3"])
    assert resolve_config(None, ["data.root='1e3'"])["data"]["root"] == "1e3"


def test_frames_longer_than_a_clip_are_refused_before_building() -> None:
    with pytest.raises(ConfigError, match=r"frontend.n_fft.*100000 is longer than a clip \(66150 samples"):
        resolve_config(None, [*ROOT, "frontend.n_fft=100000"])  # its kernels alone would need 37 GB
    with pytest.raises(ConfigError, match=r"frontend.n_fft.*8192 is longer than a clip"):
        resolve_config(None, [*ROOT, "data.sample_rate=8000", "data.clip_seconds=0.5", "frontend.n_fft=8192"])


def test_a_clip_too_short_for_the_frontend_is_refused_on_clip_seconds() -> None:
    # librosa's CQT filter for C1 at 22.05 kHz spans 11686 samples (Q / f_min x sample_rate): a 0.2 s clip
    # (4410 samples) cannot hold it; one longer than the filter can.
    with pytest.raises(
        ConfigError, match=r"^config key 'data.clip_seconds': a clip of 4410 samples is too short"
    ):
        resolve_config(None, [*ROOT, "frontend.name=cqt", "data.sample_rate=22050", "data.clip_seconds=0.2"])
    config = resolve_config(
        None, [*ROOT, "frontend.name=cqt", "data.sample_rate=22050", "data.clip_seconds=0.6"]
    )
    assert config["data"]["clip_seconds"] == 0.6


def test_frontend_sample_rate_follows_data() -> None:
    # Checking the front-end builds it: torchaudio's defaults (n_fft 400, 128 mels) leave empty filters at
    # 16 kHz, and the mel warns about them as torchaudio does.
    with pytest.warns(UserWarning, match="mel filters are empty"):
        config = resolve_config(None, [*ROOT, "data.sample_rate=16000", "frontend.name=mel"])
    assert config["frontend"] == {"name": "mel", "sample_rate": 16000}


def test_switching_frontend_drops_old_parameters(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        yaml.safe_dump({"data": {"root": "/d"}, "frontend": {"name": "stft", "output": "magnitude"}})
    )
    config = resolve_config(path, ["frontend={name: mel, n_mels: 32}"])
    assert config["frontend"] == {"name": "mel", "n_mels": 32, "sample_rate": 22050}


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("optim.lrr=1", "optim.lrr"),
        ("nonsense=1", "nonsense"),
        ("optim.lr=abc", "optim.lr"),
        ("optim.lr=-1", "optim.lr"),
        ("optim.name=rmsprop", "optim.name"),
        ("model.image_size=1", "model.image_size"),
        ("data.batch_size=1.5", "data.batch_size"),
        ("augment.enabled=3", "augment.enabled"),
        ("frontend.name=nope", "frontend.name"),
        ("frontend.n_ff=512", "frontend.n_ff"),
        ("frontend.n_fft=-4", "frontend.n_fft"),
        ("frontend.sample_rate=8000", "frontend.sample_rate"),
        ("data.fractions={train: 0.5, val: 0.2}", "data.fractions"),
        ("data.fractions={train: 0.5, dev: 0.5}", "data.fractions.dev"),
        ("sched.gamma=0", "sched.gamma"),
        ("model.channel_overrides=[{}, {}, {}]", "model.channel_overrides"),
        ("optim=3", "optim"),
        ("noequals", "noequals"),
        ("data.clip_seconds=.inf", "data.clip_seconds"),
        ("optim.lr=.inf", "optim.lr"),
        ("optim.weight_decay=.inf", "optim.weight_decay"),
        ("optim.frontend_lr=.inf", "optim.frontend_lr"),
        ("trainer.gradient_clip_val=.inf", "trainer.gradient_clip_val"),
        ("augment.gain_p=.nan", "augment.gain_p"),
        ("augment.gain_db=[0, 800]", "augment.gain_db"),
        ("seed=4294967296", "seed"),
        ("seed=-1", "seed"),
        ("augment.gain_db=[-.inf, 0]", "augment.gain_db"),
        ("augment.enabled=yes", "augment.enabled"),
        ("augment.enabled=off", "augment.enabled"),
    ],
)
def test_bad_values_name_the_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_config(None, [*ROOT, override])
    assert info.value.key == key
    assert f"'{key}'" in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_key_lists_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match=r"allowed under 'optim': .*lr.*name"):
        resolve_config(None, [*ROOT, "optim.lrr=1"])


def test_unknown_frontend_lists_only_the_frontends_train_accepts() -> None:
    # The list named amplitude_to_db, which train then refused: it takes a spectrogram, not a waveform.
    with pytest.raises(ConfigError) as info:
        resolve_config(None, [*ROOT, "frontend.name=nope"])
    listed = str(info.value).split("available: ", 1)[1].split(", ")
    assert {"stft", "mel", "cqt"} <= set(listed)
    assert "amplitude_to_db" not in listed


def test_data_root_is_required_for_folders() -> None:
    with pytest.raises(ConfigError, match=r"data\.root"):
        resolve_config(None, [])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"root": ""}, r"config key 'data\.root': must not be empty \(write \. for the current folder\)"),
        ({"root": "  "}, r"config key 'data\.root': must not be empty"),
        ({"source": "manifest", "manifest": ""}, r"config key 'data\.manifest': must not be empty, got ''"),
        (
            {"root": "/d", "split_lists": {"val": ""}},
            r"config key 'data\.split_lists\.val': must not be empty",
        ),
    ],
)
def test_an_empty_data_path_is_refused(data: dict, message: str) -> None:
    # "" read the current folder as the dataset (the CLI refuses empty path arguments for that reason)
    with pytest.raises(ConfigError, match=message):
        resolve_config({"data": data})


def test_json_config_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"data": {"root": "/d"}, "optim": {"lr": 0.5}}))
    config = resolve_config(path)
    assert config["optim"]["lr"] == 0.5
    saved = save_config(config, tmp_path / "saved.yaml")
    assert resolve_config(saved) == config
    assert config_differences(config, resolve_config(saved, ["optim.lr=0.25"])) == ["optim.lr: 0.5 -> 0.25"]


def test_missing_or_broken_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        resolve_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("data: [unclosed\n")
    with pytest.raises(UserError, match="cannot parse"):
        resolve_config(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(UserError, match="mapping"):
        resolve_config(listing)


def test_parse_override_keeps_strings() -> None:
    assert parse_override("data.root=/a=b") == ("data.root", "/a=b")
    assert parse_override("frontend.window=hann") == ("frontend.window", "hann")
    assert parse_override("trainer.early_stopping_patience=") == ("trainer.early_stopping_patience", None)


def test_defaults_cover_every_section() -> None:
    config = default_config()
    assert set(config) == {
        "seed",
        "data",
        "eval",
        "frontend",
        "model",
        "optim",
        "sched",
        "augment",
        "trainer",
    }


class _Probe(torch.nn.Module):
    """Stands in for a built front-end: counts its calls and raises ``error`` when given one."""

    def __init__(self, error: BaseException | None = None) -> None:
        super().__init__()
        self.error = error
        self.calls = 0

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return waveform


def test_the_clip_check_runs_once_per_section_and_length_and_reports_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = _Probe()
    monkeypatch.setattr(loading, "build_frontend", lambda name, **params: probe)
    overrides = [*ROOT, "data.clip_seconds=0.123"]  # a length no other test resolves
    for _ in range(3):
        resolve_config(None, overrides)
    assert probe.calls == 1  # a search or a study resolves one config many times
    resolve_config(None, [*overrides, "frontend.n_fft=512"])
    assert probe.calls == 2  # another section
    resolve_config(None, [*ROOT, "data.clip_seconds=0.124"], try_clip=False)
    assert probe.calls == 2  # a checkpoint's config is not tried again

    probe.error = RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 GB")
    with pytest.raises(
        ConfigError, match=r"^config key 'data.clip_seconds': a clip of 2734 samples needs more"
    ):
        resolve_config(None, [*ROOT, "data.clip_seconds=0.124"])
    probe.error = RuntimeError("a bug")  # not the config's fault: raised as it is
    with pytest.raises(RuntimeError, match="a bug"):
        resolve_config(None, [*ROOT, "data.clip_seconds=0.125"])


def test_yaml_booleans_and_numbers_are_yaml_1_2_s() -> None:
    """``yes``/``no``/``on``/``off`` are text (YAML 1.1 made them booleans: ``augment.enabled=yes`` was
    read as true although the README promises YAML 1.2); ``1e-3`` is a number."""
    parsed = loading.load_yaml("a: yes\nb: Off\nc: true\nd: FALSE\ne: 1e-3\nf: [no, True]\n")
    assert parsed == {"a": "yes", "b": "Off", "c": True, "d": False, "e": 1e-3, "f": ["no", True]}
    assert yaml.safe_load("a: yes") == {"a": True}  # PyYAML's own loader is left as it is


@pytest.mark.parametrize(
    ("name", "text", "key"),
    [
        ("c.yaml", "data:\n  root: /d\noptim:\n  lr: 0.1\n  lr: 0.2\n", "'lr'.*lines 4 and 5"),
        ("c.yaml", "optim: {lr: 0.1}\ndata: {root: /d}\noptim: {lr: 0.2}\n", "'optim'.*lines 1 and 3"),
        ("c.json", '{"data": {"root": "/d"}, "optim": {"lr": 0.1, "lr": 0.2}}', "'lr'"),
    ],
)
def test_a_key_given_twice_in_a_file_is_refused(tmp_path: Path, name: str, text: str, key: str) -> None:
    """PyYAML and ``json`` keep the last of two equal keys silently, so a config that sets ``optim.lr``
    twice trained with whichever came last; YAML requires unique keys."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UserError, match=rf"cannot parse config: the key {key}"):
        load_config_file(path)


def test_yaml_merge_keys_may_still_be_overridden() -> None:
    parsed = loading.load_yaml("base: &b {lr: 1, momentum: 2}\noptim:\n  <<: *b\n  lr: 3\n")
    assert parsed["optim"] == {"lr": 3, "momentum": 2}


def test_an_override_whose_mapping_repeats_a_key_names_the_override() -> None:
    with pytest.raises(ConfigError, match=r"'data.fractions'.*'train' is given twice"):
        parse_override("data.fractions={train: 0.5, train: 0.6}")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("32", "32-true"),
        ("16", "16-mixed"),
        ("64", "64-true"),
        ("'32'", "32-true"),
        ("bf16", "bf16-mixed"),
        ("32-true", "32-true"),
        ("bf16-true", "bf16-true"),
    ],
)
def test_precision_takes_lightnings_ints_and_aliases_as_the_names_it_documents(
    value: str, expected: str
) -> None:
    assert resolve_config(None, [*ROOT, f"trainer.precision={value}"])["trainer"]["precision"] == expected


def test_precision_32_in_a_file_is_32_true(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data: {root: /d}\ntrainer: {precision: 32}\n")
    assert resolve_config(path)["trainer"]["precision"] == "32-true"


@pytest.mark.parametrize("value", ["8", "32.0", "true", "32-mixed", "[32]"])
def test_a_bad_precision_names_the_key_and_lists_what_is_allowed(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_config(None, [*ROOT, f"trainer.precision={value}"])
    assert info.value.key == "trainer.precision"
    message = str(info.value)
    assert "allowed: 32-true, 16-mixed, bf16-mixed, 64-true, bf16-true, 16-true, " in message
    assert "or 16 (= 16-mixed), 32 (= 32-true), 64 (= 64-true), bf16 (= bf16-mixed)" in message


@pytest.mark.parametrize("saved", ["32", "'32'", "32-true"])
def test_a_run_saved_with_a_precision_alias_resumes_with_the_name_it_stands_for(
    tmp_path: Path, saved: str
) -> None:
    """A run's saved config.yaml is compared as written: ``32``, ``'32'`` (older runs kept it) and
    ``32-true`` are one config; another precision is another."""
    from adaspec.training.run_dir import RunPaths, saved_config_differences

    written = resolve_config(None, ROOT)
    written["trainer"]["precision"] = yaml.safe_load(saved)
    paths = RunPaths(tmp_path)
    save_config(written, paths.config)
    for value in ("32", "32-true"):
        config = resolve_config(None, [*ROOT, f"trainer.precision={value}"])
        assert saved_config_differences(paths, config) == []
    differences = saved_config_differences(paths, resolve_config(None, [*ROOT, "trainer.precision=16"]))
    assert differences == [f"trainer.precision: {written['trainer']['precision']!r} -> '16-mixed'"]


@pytest.mark.parametrize("name", ["leaf", "mfcc", "degram"])
def test_compression_defaults_to_none_after_a_front_end_that_returns_log_values(name: str) -> None:
    # The default (db) was kept, so `frontend.name=leaf` alone was refused: "already returns log values".
    melkwargs = ["frontend.melkwargs={n_mels: 40}"] if name == "mfcc" else []  # no empty mel filters
    assert (
        resolve_config(None, [*ROOT, f"frontend.name={name}", *melkwargs])["model"]["compression"] == "none"
    )
    assert resolve_config({"frontend": {"name": name}}, [*ROOT, *melkwargs])["model"]["compression"] == "none"


@pytest.mark.parametrize(
    ("source", "overrides"),
    [
        ({"frontend": {"name": "degram"}, "model": {"compression": "log"}}, []),
        (None, ["frontend.name=degram", "model.compression=log"]),
        (None, ["frontend.name=degram", "model={compression: log}"]),
    ],
)
def test_a_compression_given_with_such_a_front_end_is_kept(source: dict | None, overrides: list[str]) -> None:
    assert resolve_config(source, [*ROOT, *overrides])["model"]["compression"] == "log"


def test_compression_still_defaults_to_db_after_a_spectrogram() -> None:
    for overrides in ([], ["frontend.name=cqt"], ["frontend.name=leaf", "frontend.name=stft"]):
        assert resolve_config(None, [*ROOT, *overrides])["model"]["compression"] == "db"


@pytest.mark.parametrize(("suffix", "kind"), [(".toml", "TOML"), (".ini", "INI")])
def test_a_toml_or_ini_config_is_refused_by_its_format(tmp_path: Path, suffix: str, kind: str) -> None:
    """Before: YAML's "expected '<document start>', but found '<block mapping start>'" for a TOML table."""
    config = tmp_path / f"config{suffix}"
    config.write_text('[data]\nroot = "x"\n\n[model]\nbackbone = "small_cnn"\n')
    with pytest.raises(UserError, match=rf"^{config}: {kind} config files are not read; give a YAML or JSON"):
        resolve_config(config)
