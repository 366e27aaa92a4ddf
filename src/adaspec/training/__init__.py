"""Training on Lightning: data module, classifier module, callbacks, run directories, checkpoints, and the
evaluate/predict runners built on them."""

from .checkpoints import LoadedModel, load_classifier, read_checkpoint, resolve_checkpoint
from .datamodule import AudioDataModule
from .evaluate import EvaluationReport, evaluate_run
from .module import ClassifierModule
from .predict import PredictionOutput, predict_paths
from .run_dir import RunPaths, prepare_run_dir
from .train import TrainResult, build_trainer, train

__all__ = [
    "AudioDataModule",
    "ClassifierModule",
    "EvaluationReport",
    "LoadedModel",
    "PredictionOutput",
    "RunPaths",
    "TrainResult",
    "build_trainer",
    "evaluate_run",
    "load_classifier",
    "predict_paths",
    "prepare_run_dir",
    "read_checkpoint",
    "resolve_checkpoint",
    "train",
]
